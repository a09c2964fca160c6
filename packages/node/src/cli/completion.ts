import { COMMANDS } from "./commands";
import type { CliContext } from "./context";
import { UsageError } from "./failure";
import { OPTIONS } from "./options";

/** Option words per command, from the same table the parser checks against. */
function optionWords(name: string): string {
  return [...COMMANDS[name]!.options, "help"].map((o) => `--${o}`).join(" ");
}

const FILE_OPTIONS = Object.entries(OPTIONS)
  .filter(([, o]) => "arg" in o && (o.arg === "FILE" || o.arg === "DIR"))
  .map(([name]) => `--${name}`);

function bash(): string {
  const names = Object.keys(COMMANDS).filter((n) => n !== "smoke");
  const cases = Object.keys(COMMANDS)
    .map((n) => `    ${n === "smoke" ? '""' : n}) opts="${optionWords(n)}" ;;`)
    .join("\n");
  return `# ibauth bash completion: eval "$(ibauth completion bash)"
_ibauth() {
  local cur prev cmd="" opts i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  case "$prev" in ${FILE_OPTIONS.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
  case "$cmd" in
${cases}
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
    *) opts="" ;;
  esac
  if [[ -z "$cmd" && "$cur" != -* ]]; then
    COMPREPLY=($(compgen -W "${names.join(" ")} help" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  fi
}
complete -o default -F _ibauth ibauth
`;
}

function zsh(): string {
  const described = Object.entries(COMMANDS)
    .filter(([n]) => n !== "smoke")
    .map(([n, c]) => `    '${n}:${c.summary.replace(/'/g, "").replace(/:/g, "\\:")}'`)
    .join("\n");
  const cases = Object.keys(COMMANDS)
    .filter((n) => n !== "smoke")
    .map((n) => `    ${n}) opts=(${optionWords(n)}) ;;`)
    .join("\n");
  return `#compdef ibauth
# ibauth zsh completion: eval "$(ibauth completion zsh)"
_ibauth() {
  local -a commands opts
  commands=(
${described}
  )
  if (( CURRENT == 2 )) && [[ "$words[2]" != -* ]]; then
    _describe 'ibauth command' commands
    return
  fi
  case "$words[2]" in
${cases}
    completion) compadd bash zsh; return ;;
    *) opts=(${optionWords("smoke")}) ;;
  esac
  case "$words[CURRENT-1]" in ${FILE_OPTIONS.join("|")}) _files; return ;; esac
  compadd -- $opts
}
compdef _ibauth ibauth
`;
}

/** `ibauth completion bash|zsh`: a completion script on stdout, generated from the command table. */
export async function completionCommand(_ctx: CliContext, args: string[]): Promise<void> {
  const shell = args[0];
  if (shell === "bash") process.stdout.write(bash());
  else if (shell === "zsh") process.stdout.write(zsh());
  else throw new UsageError(`completion needs a shell: bash or zsh (got ${shell ?? "nothing"})`);
}
