/**
 * The command line's machinery: a table of commands, each declaring its usage, what it does,
 * its options and its handler in one place; arguments parsed by `node:util`'s parseArgs
 * (strict: an unknown or malformed option is a usage error); help generated from the table.
 */
import { parseArgs } from 'node:util';

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type OptionSpec = { type: 'string' | 'boolean' };

/** One command of the table. */
export interface Command<Session> {
  /** One line for the list of commands. */
  summary: string;
  /** What follows `herald <command>` in its usage line. */
  usage: string;
  /** What the command does, in sentences. */
  description: string;
  options?: Record<string, OptionSpec>;
  /** Options the command cannot run without. */
  required?: string[];
  run(session: Session, args: CommandArgs): Promise<number>;
}

/** A command's parsed arguments. */
export class CommandArgs {
  constructor(
    private readonly values: Record<string, string | boolean | undefined>,
    readonly positionals: string[],
  ) {}

  /** The value of `--name`, if given. */
  option(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** The value of `--name`; a usage error without it. */
  required(name: string): string {
    const value = this.option(name);
    if (value === undefined) throw new UsageError(`--${name} is required`);
    return value;
  }

  /** True when the boolean `--name` was given. */
  flag(name: string): boolean {
    return this.values[name] === true;
  }
}

/** The command that `argv` names (one or two words), its arguments, or the top-level help. */
export function parseCommand<S>(
  commands: Record<string, Command<S>>,
  argv: string[],
): { kind: 'help'; text: string } | { kind: 'run'; name: string; command: Command<S>; args: CommandArgs } {
  const words = argv.slice(0, 2).filter((w) => !w.startsWith('-'));
  const name = [words.join(' '), words[0] ?? ''].find((candidate) => candidate in commands);
  if (!name) {
    if (words.length === 0) return { kind: 'help', text: '' };
    throw new UsageError(`unknown command "${words.join(' ')}"; see herald --help`);
  }
  const command = commands[name]!;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.slice(name.split(' ').length),
      options: { help: { type: 'boolean', short: 'h' }, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs says what is wrong in its first sentence; the rest is advice about `--` that does not apply here.
    throw new UsageError(`${(error as Error).message.split(/\.\s/)[0]} (see herald ${name} --help)`);
  }
  const args = new CommandArgs(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  if (args.flag('help')) return { kind: 'help', text: name };
  for (const option of command.required ?? []) args.required(option);
  return { kind: 'run', name, command, args };
}

/** Help for one command, or (for '') the list of commands. */
export function helpText<S>(commands: Record<string, Command<S>>, name: string, intro: string, outro: string): string {
  if (name !== '') {
    const command = commands[name]!;
    return `Usage: herald ${name}${command.usage ? ` ${command.usage}` : ''}\n${command.description}`;
  }
  const width = Math.max(...Object.keys(commands).map((n) => n.length + (commands[n]!.usage ? 4 : 0))) + 2;
  const lines = Object.entries(commands).map(([n, c]) => `  ${`${n}${c.usage ? ' ...' : ''}`.padEnd(width)} ${c.summary}`);
  return `${intro}\n\nCommands:\n${lines.join('\n')}\n\n${outro}`;
}
