/**
 * The UI, browser code only. It talks to the agent through the typed Agent API in shared/,
 * via the preload bridge inside Electron or loopback HTTP in a browser; it never imports the
 * engine or Node built-ins (enforced by lint and renderer/tsconfig.json).
 *
 * The UI itself arrives with the agent service (pause/resume, progress, conflicts).
 */
export {};
