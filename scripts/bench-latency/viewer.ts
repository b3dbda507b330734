/** What every receiver offers the scenarios: something that holds the remote screen and can tell whether it shows a colour. */

/** A screen pixel (x, y). */
export type Pt = [number, number];

export interface Viewer {
  name: string;
  /** The process whose CPU is charged (the agent / x11vnc). */
  serverPid: number;
  /** A process of the same system whose CPU is measured apart (tether-window: the window program). */
  helperPid?: number;
  /** Called with the arrival time of every complete frame (after it was stored). */
  onFrame: ((t: number) => void) | null;
  frames: number;
  /** Whether the latest frame shows `rgb` at every point. */
  shows(points: Pt[], rgb: number): boolean;
  bytesReceived(): Promise<number>;
  /** A left click (down and up) at screen pixel (x, y). */
  click(x: number, y: number): void;
  /** One line on the viewer's connection, for a message when changes stop arriving. */
  diagnose?(): Promise<string>;
  close(): Promise<void>;
}

/** A viewer of Tether: the receiver's inbound video RTP stats, plus transportBytesReceived. */
export interface TetherViewer extends Viewer {
  inbound(): Promise<Record<string, number>>;
}
