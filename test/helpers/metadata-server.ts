/**
 * Local implementations of two clouds' instance metadata services, as their published protocols
 * describe them (a real one cannot exist here): EC2's IMDSv2, where a PUT to /latest/api/token with
 * X-aws-ec2-metadata-token-ttl-seconds gives a session token that every GET must carry in
 * X-aws-ec2-metadata-token (401 without it), and Google Compute Engine's, where every request must
 * carry `Metadata-Flavor: Google` (403 without it). Both answer 404 for what an instance does not
 * have. They listen on loopback; a machine reaches them at 169.254.169.254 (MachineOptions.linkLocal).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetadataRequest {
  method: string;
  path: string;
  /** Whether the request carried what the protocol requires (the token, the header), and got an answer. */
  authorized: boolean;
}

export interface MetadataService {
  port: number;
  requests: MetadataRequest[];
  stop: () => Promise<void>;
}

export interface InstanceMetadata {
  userData?: Buffer;
  hostname: string;
  sshKeys: string[];
}

type Answer = { status: number; body?: Buffer | string };

function ec2(request: IncomingMessage, path: string, instance: InstanceMetadata, tokens: Set<string>): Answer & { authorized: boolean } {
  if (path === '/latest/api/token') {
    const ttl = Number(request.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (request.method !== 'PUT' || !(ttl >= 1 && ttl <= 21600)) return { status: 400, authorized: false };
    const token = `token-${tokens.size + 1}-${Math.random().toString(36).slice(2)}`;
    tokens.add(token);
    return { status: 200, body: token, authorized: true };
  }
  if (request.method !== 'GET' || !tokens.has(String(request.headers['x-aws-ec2-metadata-token'] ?? ''))) return { status: 401, authorized: false };
  const keys = new Map(instance.sshKeys.map((key, index) => [`/latest/meta-data/public-keys/${index}/openssh-key`, key]));
  const answers = new Map<string, Buffer | string | undefined>([
    ['/latest/user-data', instance.userData],
    ['/latest/meta-data/local-hostname', `${instance.hostname}.ec2.internal`],
    ['/latest/meta-data/public-keys/', instance.sshKeys.length > 0 ? instance.sshKeys.map((_, index) => `${index}=key-${index}`).join('\n') : undefined],
    ...keys,
  ]);
  const body = answers.get(path);
  return body === undefined ? { status: 404, authorized: true } : { status: 200, body, authorized: true };
}

function gce(request: IncomingMessage, path: string, instance: InstanceMetadata): Answer & { authorized: boolean } {
  if (request.headers['metadata-flavor'] !== 'Google') return { status: 403, body: 'Missing Metadata-Flavor:Google header.', authorized: false };
  if (request.headers['x-forwarded-for']) return { status: 403, authorized: false };
  const answers = new Map<string, Buffer | string | undefined>([
    ['/computeMetadata/v1/instance/attributes/user-data', instance.userData],
    ['/computeMetadata/v1/instance/hostname', `${instance.hostname}.c.slipway-test.internal`],
    ['/computeMetadata/v1/instance/attributes/ssh-keys', instance.sshKeys.length > 0 ? instance.sshKeys.map((key) => `someone:${key}`).join('\n') : undefined],
  ]);
  const body = answers.get(path);
  return body === undefined ? { status: 404, authorized: true } : { status: 200, body, authorized: true };
}

/** Serves one instance's metadata the way `cloud` does. */
export async function startMetadataService(cloud: 'aws' | 'gcp', instance: InstanceMetadata): Promise<MetadataService> {
  const requests: MetadataRequest[] = [];
  const tokens = new Set<string>();
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://169.254.169.254').pathname;
    const answer = cloud === 'aws' ? ec2(request, path, instance, tokens) : gce(request, path, instance);
    requests.push({ method: request.method ?? '', path, authorized: answer.authorized });
    response.writeHead(answer.status, cloud === 'gcp' ? { 'Metadata-Flavor': 'Google' } : {});
    response.end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
