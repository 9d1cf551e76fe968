/**
 * scheduler_config.json parsing (diffusers field names and conventions).
 *
 * The parse is strict about values (clear messages naming the field) and tolerant about
 * unrelated keys (`_class_name`, `_diffusers_version`, `skip_prk_steps`, ...), which are ignored.
 * Keys that would change the maths in ways we do not implement (thresholding, Karras sigmas,
 * non-linear sigma interpolation, ...) are rejected when set to a non-default value.
 */
import { z } from 'zod';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export const SchedulerConfigSchema = z.object({
  num_train_timesteps: z.number().int().min(1).optional(),
  beta_start: z.number().positive().max(1).optional(),
  beta_end: z.number().positive().max(1).optional(),
  beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).optional(),
  trained_betas: z.array(z.number().min(0).max(1)).nullable().optional(),
  prediction_type: z.enum(['epsilon', 'v_prediction', 'sample']).optional(),
  timestep_spacing: z.enum(['leading', 'trailing', 'linspace']).optional(),
  steps_offset: z.number().int().min(0).optional(),
  set_alpha_to_one: z.boolean().optional(),
  clip_sample: z.boolean().optional(),
  clip_sample_range: z.number().positive().optional(),
  rescale_betas_zero_snr: z.boolean().optional(),
  thresholding: z.literal(false, { error: 'thresholding (dynamic thresholding) is not supported; set it to false' }).optional(),
  use_karras_sigmas: z.literal(false, { error: 'Karras sigmas are not supported; set use_karras_sigmas to false' }).optional(),
  use_exponential_sigmas: z.literal(false, { error: 'exponential sigmas are not supported' }).optional(),
  use_beta_sigmas: z.literal(false, { error: 'beta sigmas are not supported' }).optional(),
  interpolation_type: z.literal('linear', { error: 'only interpolation_type "linear" is supported' }).optional(),
  timestep_type: z.literal('discrete', { error: 'only timestep_type "discrete" is supported' }).optional(),
  final_sigmas_type: z.literal('zero', { error: 'only final_sigmas_type "zero" is supported' }).optional(),
});

export type SchedulerConfigInput = z.input<typeof SchedulerConfigSchema>;

/** A config with every field filled in. */
export interface SchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  set_alpha_to_one: boolean;
  clip_sample: boolean;
  clip_sample_range: number;
  rescale_betas_zero_snr: boolean;
}

/** diffusers' DDIMScheduler defaults. */
export const DDIM_DEFAULTS: SchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 0,
  set_alpha_to_one: true,
  clip_sample: true,
  clip_sample_range: 1.0,
  rescale_betas_zero_snr: false,
};

/** diffusers' EulerDiscreteScheduler defaults (clip/set_alpha_to_one do not apply). */
export const EULER_DEFAULTS: SchedulerConfig = {
  ...DDIM_DEFAULTS,
  timestep_spacing: 'linspace',
  clip_sample: false,
};

export class SchedulerConfigError extends Error {
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
    this.name = 'SchedulerConfigError';
  }
}

/**
 * Parse a scheduler_config.json object. Missing fields take `defaults` (DDIM's unless given).
 * Throws SchedulerConfigError listing every problem as "field: message".
 */
export function parseSchedulerConfig(raw: unknown, defaults: SchedulerConfig = DDIM_DEFAULTS, source = 'scheduler config'): SchedulerConfig {
  const r = SchedulerConfigSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new SchedulerConfigError(`${source}: ${issues.join('; ')}`, issues);
  }
  const c = r.data;
  const cfg: SchedulerConfig = {
    num_train_timesteps: c.num_train_timesteps ?? defaults.num_train_timesteps,
    beta_start: c.beta_start ?? defaults.beta_start,
    beta_end: c.beta_end ?? defaults.beta_end,
    beta_schedule: c.beta_schedule ?? defaults.beta_schedule,
    trained_betas: c.trained_betas ?? defaults.trained_betas,
    prediction_type: c.prediction_type ?? defaults.prediction_type,
    timestep_spacing: c.timestep_spacing ?? defaults.timestep_spacing,
    steps_offset: c.steps_offset ?? defaults.steps_offset,
    set_alpha_to_one: c.set_alpha_to_one ?? defaults.set_alpha_to_one,
    clip_sample: c.clip_sample ?? defaults.clip_sample,
    clip_sample_range: c.clip_sample_range ?? defaults.clip_sample_range,
    rescale_betas_zero_snr: c.rescale_betas_zero_snr ?? defaults.rescale_betas_zero_snr,
  };
  const issues: string[] = [];
  if (cfg.beta_end < cfg.beta_start) issues.push(`beta_end: must be >= beta_start (${cfg.beta_start}), got ${cfg.beta_end}`);
  if (cfg.trained_betas && cfg.trained_betas.length !== cfg.num_train_timesteps) {
    issues.push(`trained_betas: has ${cfg.trained_betas.length} values but num_train_timesteps is ${cfg.num_train_timesteps}`);
  }
  if (issues.length > 0) throw new SchedulerConfigError(`${source}: ${issues.join('; ')}`, issues);
  return cfg;
}
