/**
 * Configs of the Shape World networks, zod-validated, with diffusers / transformers field names
 * so the JSON written next to each model reads like a real export's config.json.
 *
 * Shape World: 64x64 RGB images -> VAE (4x down) -> 4x16x16 latents; captions tokenised to 32 ids (SHAPE_WORLD_MAX_LENGTH).
 */
import { z } from 'zod';

const posInt = () => z.number().int().positive();

/** CLIPTextModel-like text encoder. */
export const TextEncoderConfigSchema = z
  .object({
    architectures: z.array(z.string()).default(['ShapeWorldTextModel']),
    /** Rows of token_embedding: the Shape World tokenizer's vocabulary (4 specials + SHAPE_WORLD_WORDS = 97 ids). */
    vocab_size: posInt().default(97),
    hidden_size: posInt().default(64),
    intermediate_size: posInt().default(256),
    num_hidden_layers: posInt().default(2),
    num_attention_heads: posInt().default(4),
    /** Sequence length of `input_ids` (static) and number of learned positions. */
    max_position_embeddings: posInt().default(32),
    layer_norm_eps: z.number().positive().default(1e-5),
    hidden_act: z.literal('gelu').default('gelu'),
    /**
     * Causal self-attention (like CLIP): token i sees tokens 0..i. So a prompt's embeddings do not
     * depend on the padding after it, and a prefix gives the same embeddings whatever follows.
     */
    causal_attention: z.boolean().default(true),
  })
  .refine((c) => c.hidden_size % c.num_attention_heads === 0, { message: 'hidden_size must be divisible by num_attention_heads' });
export type TextEncoderConfig = z.output<typeof TextEncoderConfigSchema>;
export type TextEncoderConfigInput = z.input<typeof TextEncoderConfigSchema>;

/** UNet2DConditionModel-like denoiser (every block has cross-attention). */
export const UNetConfigSchema = z
  .object({
    _class_name: z.literal('UNet2DConditionModel').default('UNet2DConditionModel'),
    sample_size: posInt().default(16),
    in_channels: posInt().default(4),
    out_channels: posInt().default(4),
    block_out_channels: z.array(posInt()).min(1).default([64, 96]),
    down_block_types: z.array(z.literal('CrossAttnDownBlock2D')).optional(),
    up_block_types: z.array(z.literal('CrossAttnUpBlock2D')).optional(),
    mid_block_type: z.literal('UNetMidBlock2DCrossAttn').default('UNetMidBlock2DCrossAttn'),
    layers_per_block: posInt().default(1),
    /**
     * As in diffusers' SD 1.x configs this field is the NUMBER OF HEADS of every attention layer
     * (diffusers uses attention_head_dim as num_attention_heads when the latter is unset).
     */
    attention_head_dim: posInt().default(4),
    cross_attention_dim: posInt().default(64),
    /** Length of encoder_hidden_states (the text encoder's max_position_embeddings). */
    text_length: posInt().default(32),
    norm_num_groups: posInt().default(32),
    norm_eps: z.number().positive().default(1e-5),
    /** Transformer2DModel's GroupNorm epsilon (diffusers: 1e-6). */
    transformer_norm_eps: z.number().positive().default(1e-6),
    use_linear_projection: z.literal(true).default(true),
    flip_sin_to_cos: z.boolean().default(true),
    freq_shift: z.number().default(0),
    /** Time embedding width; diffusers' default is 4 * block_out_channels[0]. */
    time_embedding_dim: posInt().optional(),
    act_fn: z.literal('silu').default('silu'),
    prediction_type: z.literal('epsilon').default('epsilon'),
    /** Input `timestep` is float32 [batch] (diffusers ONNX export convention). */
    timestep_dtype: z.literal('float32').default('float32'),
  })
  .transform((c) => ({
    ...c,
    down_block_types: c.down_block_types ?? c.block_out_channels.map(() => 'CrossAttnDownBlock2D' as const),
    up_block_types: c.up_block_types ?? c.block_out_channels.map(() => 'CrossAttnUpBlock2D' as const),
    time_embedding_dim: c.time_embedding_dim ?? 4 * c.block_out_channels[0]!,
  }))
  .superRefine((c, ctx) => {
    const n = c.block_out_channels.length;
    if (c.down_block_types.length !== n || c.up_block_types.length !== n) ctx.addIssue({ code: 'custom', message: `down/up_block_types need ${n} entries (one per block_out_channels)` });
    for (const ch of c.block_out_channels) {
      if (ch % c.norm_num_groups !== 0) ctx.addIssue({ code: 'custom', path: ['block_out_channels'], message: `${ch} channels do not split into norm_num_groups=${c.norm_num_groups}` });
      if (ch % c.attention_head_dim !== 0) ctx.addIssue({ code: 'custom', path: ['block_out_channels'], message: `${ch} channels do not split into ${c.attention_head_dim} heads` });
    }
    if (c.sample_size % 2 ** (n - 1) !== 0) ctx.addIssue({ code: 'custom', path: ['sample_size'], message: `sample_size ${c.sample_size} is not divisible by 2^${n - 1}` });
  });
export type UNetConfig = z.output<typeof UNetConfigSchema>;
export type UNetConfigInput = z.input<typeof UNetConfigSchema>;

/**
 * AutoencoderKL-like VAE.
 *
 * Scaling convention (as diffusers): the pipeline multiplies the encoder's `latent_sample` by
 * `scaling_factor` before diffusion and divides latents by it before decoding; the ONNX models
 * themselves never apply it. The value is chosen after training (1 / std of training latents);
 * until then it is 1.0.
 */
export const VaeConfigSchema = z
  .object({
    _class_name: z.literal('AutoencoderKL').default('AutoencoderKL'),
    in_channels: posInt().default(3),
    out_channels: posInt().default(3),
    down_block_types: z.array(z.literal('DownEncoderBlock2D')).optional(),
    up_block_types: z.array(z.literal('UpDecoderBlock2D')).optional(),
    block_out_channels: z.array(posInt()).min(1).default([32, 64, 64]),
    layers_per_block: posInt().default(1),
    act_fn: z.literal('silu').default('silu'),
    latent_channels: posInt().default(4),
    norm_num_groups: posInt().default(32),
    /** ResnetBlock2D / attention GroupNorm epsilon in the VAE (diffusers: 1e-6). */
    norm_eps: z.number().positive().default(1e-6),
    sample_size: posInt().default(64),
    scaling_factor: z.number().positive().default(1.0),
    mid_block_add_attention: z.boolean().default(true),
  })
  .transform((c) => ({
    ...c,
    down_block_types: c.down_block_types ?? c.block_out_channels.map(() => 'DownEncoderBlock2D' as const),
    up_block_types: c.up_block_types ?? c.block_out_channels.map(() => 'UpDecoderBlock2D' as const),
  }))
  .superRefine((c, ctx) => {
    const n = c.block_out_channels.length;
    if (c.down_block_types.length !== n || c.up_block_types.length !== n) ctx.addIssue({ code: 'custom', message: `down/up_block_types need ${n} entries` });
    for (const ch of c.block_out_channels)
      if (ch % c.norm_num_groups !== 0) ctx.addIssue({ code: 'custom', path: ['block_out_channels'], message: `${ch} channels do not split into norm_num_groups=${c.norm_num_groups}` });
    if (c.sample_size % 2 ** (n - 1) !== 0) ctx.addIssue({ code: 'custom', path: ['sample_size'], message: `sample_size ${c.sample_size} is not divisible by 2^${n - 1}` });
  });
export type VaeConfig = z.output<typeof VaeConfigSchema>;
export type VaeConfigInput = z.input<typeof VaeConfigSchema>;

/** DDIM-compatible scheduler_config.json for Shape World (SD's scaled-linear betas). */
export const ShapeWorldSchedulerConfigSchema = z.object({
  _class_name: z.string().default('DDIMScheduler'),
  num_train_timesteps: posInt().default(1000),
  beta_start: z.number().positive().default(0.00085),
  beta_end: z.number().positive().default(0.012),
  beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).default('scaled_linear'),
  prediction_type: z.literal('epsilon').default('epsilon'),
  steps_offset: z.number().int().min(0).default(1),
  timestep_spacing: z.enum(['leading', 'trailing', 'linspace']).default('leading'),
  set_alpha_to_one: z.boolean().default(false),
  clip_sample: z.boolean().default(false),
});
export type ShapeWorldSchedulerConfig = z.output<typeof ShapeWorldSchedulerConfigSchema>;

export interface ShapeWorldConfigs {
  textEncoder: TextEncoderConfig;
  unet: UNetConfig;
  vae: VaeConfig;
  scheduler: ShapeWorldSchedulerConfig;
}

export interface ShapeWorldConfigsInput {
  textEncoder?: TextEncoderConfigInput;
  unet?: UNetConfigInput;
  vae?: VaeConfigInput;
  scheduler?: z.input<typeof ShapeWorldSchedulerConfigSchema>;
}

export class NetConfigError extends Error {
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
    this.name = 'NetConfigError';
  }
}

function parseWith<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new NetConfigError(`${what} config: ${issues.join('; ')}`, issues);
}

export const parseTextEncoderConfig = (raw?: unknown): TextEncoderConfig => parseWith(TextEncoderConfigSchema, raw, 'text encoder');
export const parseUNetConfig = (raw?: unknown): UNetConfig => parseWith(UNetConfigSchema, raw, 'unet');
export const parseVaeConfig = (raw?: unknown): VaeConfig => parseWith(VaeConfigSchema, raw, 'vae');
export const parseSchedulerConfig = (raw?: unknown): ShapeWorldSchedulerConfig => parseWith(ShapeWorldSchedulerConfigSchema, raw, 'scheduler');

/** All four configs (defaults filled in), checked for consistency with each other. */
export function shapeWorldConfigs(input: ShapeWorldConfigsInput = {}): ShapeWorldConfigs {
  const c: ShapeWorldConfigs = {
    textEncoder: parseTextEncoderConfig(input.textEncoder),
    unet: parseUNetConfig(input.unet),
    vae: parseVaeConfig(input.vae),
    scheduler: parseSchedulerConfig(input.scheduler),
  };
  checkConsistency(c);
  return c;
}

/** Throws NetConfigError when the models would not fit together. */
export function checkConsistency(c: ShapeWorldConfigs): void {
  const issues: string[] = [];
  if (c.unet.cross_attention_dim !== c.textEncoder.hidden_size) issues.push(`unet.cross_attention_dim (${c.unet.cross_attention_dim}) must equal textEncoder.hidden_size (${c.textEncoder.hidden_size})`);
  if (c.unet.text_length !== c.textEncoder.max_position_embeddings) issues.push(`unet.text_length (${c.unet.text_length}) must equal textEncoder.max_position_embeddings (${c.textEncoder.max_position_embeddings})`);
  if (c.unet.in_channels !== c.vae.latent_channels || c.unet.out_channels !== c.vae.latent_channels) issues.push(`unet in/out_channels must equal vae.latent_channels (${c.vae.latent_channels})`);
  const latent = c.vae.sample_size / 2 ** (c.vae.block_out_channels.length - 1);
  if (c.unet.sample_size !== latent) issues.push(`unet.sample_size (${c.unet.sample_size}) must equal the VAE latent size (${latent})`);
  if (issues.length > 0) throw new NetConfigError(`inconsistent Shape World configs: ${issues.join('; ')}`, issues);
}
