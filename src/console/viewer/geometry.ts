/**
 * Placing the remote screen: "fit" scales it to the stage keeping its aspect ratio (up or down),
 * "1:1" shows one remote pixel per device pixel and lets the stage scroll. And the way back: a point
 * on the page → a fraction of the remote monitor. Pure functions over plain numbers (CSS pixels).
 */

export type ScaleMode = "fit" | "1:1";

export interface Size {
  width: number;
  height: number;
}

export interface Placement {
  /** Displayed size of the video content, CSS pixels. */
  width: number;
  height: number;
  /** Offset of the content inside the stage (centred when smaller; 0 when it scrolls). */
  left: number;
  top: number;
  /** Displayed CSS pixels per remote pixel. */
  scale: number;
}

/**
 * Where the remote screen (`source`, in remote pixels) goes inside `stage` (CSS pixels).
 * `devicePixelRatio` makes "1:1" mean one remote pixel per physical pixel.
 */
export function place(source: Size, stage: Size, mode: ScaleMode, devicePixelRatio = 1): Placement {
  if (source.width <= 0 || source.height <= 0 || stage.width <= 0 || stage.height <= 0) {
    return { width: 0, height: 0, left: 0, top: 0, scale: 0 };
  }
  const scale = mode === "fit" ? Math.min(stage.width / source.width, stage.height / source.height) : 1 / (devicePixelRatio || 1);
  const width = source.width * scale;
  const height = source.height * scale;
  return {
    width,
    height,
    left: Math.max(0, (stage.width - width) / 2),
    top: Math.max(0, (stage.height - height) / 2),
    scale,
  };
}

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * A point in page coordinates → the fraction of the remote monitor under it, given the content's
 * rectangle on the page. Points outside are clamped to the edge (0 ≤ x, y < 1, as InputEvent asks);
 * null while nothing is shown.
 */
export function toFraction(clientX: number, clientY: number, content: Rect): { x: number; y: number } | null {
  if (content.width <= 0 || content.height <= 0) return null;
  const clamp = (v: number) => Math.min(Math.max(v, 0), 1 - 1e-6);
  return { x: clamp((clientX - content.left) / content.width), y: clamp((clientY - content.top) / content.height) };
}

/** Whether the point lies on the content (for deciding whether a press belongs to the remote screen). */
export function inside(clientX: number, clientY: number, content: Rect): boolean {
  return (
    clientX >= content.left && clientY >= content.top && clientX < content.left + content.width && clientY < content.top + content.height
  );
}
