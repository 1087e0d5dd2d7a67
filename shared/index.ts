/**
 * Types and contracts shared by every part of Strata: the Agent API (commands, events and
 * their schemas), configuration schemas and tray model types. Imports nothing else from the
 * project and no Node or DOM APIs, so that the engine, the desktop shell and the UI all agree on
 * one definition.
 *
 * The Agent API arrives with the agent service.
 */
export {};
