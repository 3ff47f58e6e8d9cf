// The fuzzers' link to their second process: one JSON command per line on its stdin, one JSON answer per line on
// its stdout, in order. A peer that exits answers every pending command with `ok: false`, so a crash of the peer
// shows as a failed command (with the seed and the trail), never as a hang.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { FuzzChecks } from '../../helpers/fuzz-checks.js';

/** A peer's answer: `ok`, and whatever the command returns. */
export type Answer = Record<string, unknown> & { ok?: unknown; code?: unknown; message?: unknown };

/** A command to the peer: its operation and arguments. */
export type Command = Record<string, unknown> & { op: string };

/** A running peer process. */
export interface PeerLink {
  /** Sends `command`, resolves with the answer (counted as `peer.<op>`). */
  readonly ask: (command: Command) => Promise<Answer>;
  /** As `ask`, but an answer that is not `ok` fails the run. */
  readonly run: (command: Command) => Promise<Answer>;
  /** Ends the peer's input: it exits once it has answered everything. */
  readonly end: () => void;
}

/** Starts `script` (TypeScript, through tsx) with `args` as the fuzzer's peer. */
export function startPeer(script: string, args: string[], checks: FuzzChecks): PeerLink {
  const peer = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pending: ((answer: Answer) => void)[] = [];
  createInterface({ input: peer.stdout }).on('line', (line) => pending.shift()?.(JSON.parse(line) as Answer));
  let exited: string | undefined;
  peer.on('exit', (code, signal) => {
    exited = `peer exited (${String(code ?? signal)})`;
    for (const resolve of pending.splice(0)) resolve({ ok: false, message: exited });
  });
  const ask = async (command: Command): Promise<Answer> => {
    if (exited !== undefined) checks.fail(exited);
    const answer = await new Promise<Answer>((resolve) => {
      pending.push(resolve);
      peer.stdin.write(`${JSON.stringify(command)}\n`);
    });
    checks.count(`peer.${command.op}`, JSON.stringify(command).slice(0, 60));
    return answer;
  };
  return {
    ask,
    run: async (command) => {
      const answer = await ask(command);
      if (answer.ok !== true)
        checks.fail(
          `peer ${JSON.stringify(command).slice(0, 80)}: ${JSON.stringify(answer.code ?? '')} ${JSON.stringify(answer.message)}`,
        );
      return answer;
    },
    end: () => peer.stdin.end(),
  };
}
