// The agent's page's look, one style sheet: colours that keep their contrast in light and dark mode,
// and names of any length that wrap rather than make the page scroll sideways.

/** The page's look: a constructed style sheet (the CSP allows no inline style). */
export const CSS = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
body { margin: 0 auto; max-width: 46rem; padding: 1rem 1.5rem; }
/* A name, a path or a key of any length wraps where it must: nothing makes the page scroll sideways. */
main { overflow-wrap: anywhere; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.4rem; margin: 0.5rem 0; }
.state { font-weight: 600; padding: 0.1rem 0.6rem; border-radius: 1rem; background: #8884; margin: 0; }
.device, .layer, .last-sync { color: #666; margin: 0.2rem 0; }
nav { display: flex; gap: 0.5rem; margin: 0.5rem 0 1rem; }
button { font: inherit; padding: 0.3rem 0.9rem; border-radius: 0.4rem; border: 1px solid #8888; cursor: pointer; }
button:disabled, button[aria-disabled='true'] { opacity: 0.6; cursor: default; }
.folder, .settings { border-top: 1px solid #8886; padding: 0.5rem 0; }
.folder h2, .settings h2 { font-size: 1.05rem; margin: 0.4rem 0; word-break: break-all; }
.folder-state { margin: 0.2rem 0; }
/* Read by screen readers only: the line above, paced (announced). */
.announce { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; margin: 0; }
.problem { color: #c0392b; }
.warning { color: #a04000; }
.taken { font-weight: 600; }
.pending { border: 1px solid #e67e22; border-radius: 0.4rem; padding: 0.2rem 0.8rem 0.8rem; margin: 0.5rem 0; }
/* Buttons side by side, or one under the other on a narrow window, never touching. */
.actions { display: inline-flex; flex-wrap: wrap; gap: 0.5rem; }
.keep-all { display: flex; margin: 0.2rem 0 0.5rem; }
.conflicts li { margin: 0.4rem 0; }
.conflicts .path, .conflicts .copy { font-family: ui-monospace, monospace; word-break: break-all; }
.versions { border-collapse: collapse; margin: 0.3rem 0 0.5rem; }
.versions th, .versions td { text-align: left; padding: 0.1rem 0.8rem 0.1rem 0; vertical-align: top; overflow-wrap: break-word; }
/* The device's name, one word of any length, breaks anywhere: the table must fit a narrow window. */
.versions td:last-child { overflow-wrap: anywhere; }
.versions th[scope='row'] { font-weight: normal; font-style: italic; }
h3 { font-size: 0.95rem; margin: 0.8rem 0 0.3rem; }
/* Both greys, both reds and both oranges keep 4.5:1 against their background (WCAG AA). */
@media (prefers-color-scheme: dark) {
  .device, .layer, .last-sync { color: #aaa; }
  .problem { color: #ff7b6b; }
  .warning { color: #f0a050; }
}
`;
