import { existsSync, readFileSync } from 'node:fs';
import { UpdateError } from '../../errors.ts';

const CONFIG = '/usr/lib/slipway/update/config.json';
export const TRUSTED_ROOT = '/usr/lib/slipway/update/root.json';
const HOST_OVERRIDES = '/etc/slipway/update.json';

export interface AgentConfig {
  url: string;
  channel: string;
  rebootWindow?: string;
}

/** The recipe's settings, with the host config's channel and reboot window over them. */
export function config(): AgentConfig {
  if (!existsSync(CONFIG)) throw new UpdateError('this image has no update repository configured', "set update.url (and update.trustedRoot) in the recipe");
  const base = JSON.parse(readFileSync(CONFIG, 'utf8')) as AgentConfig;
  const host = existsSync(HOST_OVERRIDES) ? (JSON.parse(readFileSync(HOST_OVERRIDES, 'utf8')) as Partial<AgentConfig>) : {};
  return { url: base.url.replace(/\/$/, ''), channel: host.channel ?? base.channel, rebootWindow: host.rebootWindow ?? base.rebootWindow };
}
