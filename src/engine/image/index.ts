/** Image module: the IMAGE value type (ImageRGB), tensor conversions and PNG I/O with text metadata. */
export * from './image.ts';
export * from './png.ts';
export * from './ops.ts';
