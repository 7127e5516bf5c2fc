# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ductor_global_optspecs
    string join \n home= v/verbose h/help V/version
end

function __fish_ductor_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ductor_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ductor_using_subcommand
    set -l cmd (__fish_ductor_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ductor -n "__fish_ductor_needs_command" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_needs_command" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ductor -n "__fish_ductor_needs_command" -s V -l version -d 'Print version'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "run" -d 'Run ductor in the foreground (the default)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "status" -d 'Show whether ductor runs and how every agent is doing'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "stop" -d 'Stop the running ductor (all agents and their CLI processes)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "restart" -d 'Restart the running ductor (or start it in the background)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "agents" -d 'Manage sub-agents (agents.json)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "ask" -d 'Ask another agent (run by an agent\'s CLI; prints the answer, or a task id with --async)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "shared-memory" -d 'Show or edit SHAREDMEMORY.md, the knowledge every agent shares'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "task" -d 'Background tasks (run by an agent\'s CLI: create, resume, ask-parent, list, cancel, delete)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "cron" -d 'Scheduled jobs of an agent (add, edit, list, remove, time)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "media" -d 'Media tools for an agent\'s CLI: info, list, read, video, transcribe (JSON output)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "webhooks" -d 'Webhooks of the main agent (add, edit, list, remove, rotate-token, test)'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "api" -d 'The direct API of the main agent: enable (prints its URL), disable, status'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "docker" -d 'The sandbox every CLI run happens in: rebuild, enable, disable, status, mount, unmount, mounts, extras, extras-add, extras-remove'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "onboarding" -d 'Set ductor up (or change its set-up): transport, token, users, provider, sandbox, timezone, service'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "reset" -d 'Stop ductor, optionally delete its data, and run the set-up again'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "config" -d 'Read or change one setting of config.json (or of a sub-agent\'s entry), by dotted key'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "doctor" -d 'Check this home: config, tokens (live), CLIs and their versions, clock, bus, service, sandbox, disk, permissions; exit status 1 when something blocks running'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "service" -d 'Run ductor as a user service: install, uninstall, start, stop, restart, status, logs'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "uninstall" -d 'Stop ductor, remove its service and sandbox, and (after asking) delete the home'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "upgrade" -d 'Upgrade ductor to the newest release the way it was installed, then restart it'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c ductor -n "__fish_ductor_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand run" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand run" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand run" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand status" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand status" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand status" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand stop" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand stop" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand stop" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand restart" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand restart" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand restart" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and not __fish_seen_subcommand_from list add remove help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand agents; and not __fish_seen_subcommand_from list add remove help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and not __fish_seen_subcommand_from list add remove help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and not __fish_seen_subcommand_from list add remove help" -f -a "list" -d 'List the agents, with live status when ductor runs'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and not __fish_seen_subcommand_from list add remove help" -f -a "add" -d 'Add a Telegram sub-agent (asks for missing values on a terminal)'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and not __fish_seen_subcommand_from list add remove help" -f -a "remove" -d 'Remove a sub-agent (its data directory is kept)'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and not __fish_seen_subcommand_from list add remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from list" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l token -d 'Telegram bot token from @BotFather (visible to other users in the process list: prefer --token-file or the prompt)' -r
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l token-file -d 'A file whose first line is the bot token; - reads it from standard input' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l description -d 'What the agent is for (kept in its agents.json entry)' -r
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l users -d 'Allowed Telegram user ids, comma-separated' -r
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l groups -d 'Allowed Telegram group ids, comma-separated (negative)' -r
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l provider -d 'Provider: claude, codex or gemini' -r
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l model -d 'Model (default: the provider\'s default)' -r
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from remove" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from remove" -s y -l yes -d 'Do not ask for confirmation'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the agents, with live status when ductor runs'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a Telegram sub-agent (asks for missing values on a terminal)'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a sub-agent (its data directory is kept)'
complete -c ductor -n "__fish_ductor_using_subcommand agents; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand ask" -l summary -d 'Short description shown to the other agent\'s user (async only)' -r
complete -c ductor -n "__fish_ductor_using_subcommand ask" -l reply-to -d 'Deliver the async answer to this agent instead of the caller' -r
complete -c ductor -n "__fish_ductor_using_subcommand ask" -l timeout -d 'Seconds to wait for a synchronous answer' -r
complete -c ductor -n "__fish_ductor_using_subcommand ask" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand ask" -l new -d 'Forget the previous conversation with that agent and start a new one'
complete -c ductor -n "__fish_ductor_using_subcommand ask" -l async -d 'Do not wait: print a task id; the answer arrives in this chat later'
complete -c ductor -n "__fish_ductor_using_subcommand ask" -l silent -d 'Do not tell the other agent\'s user about the async request'
complete -c ductor -n "__fish_ductor_using_subcommand ask" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand ask" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and not __fish_seen_subcommand_from show append set help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and not __fish_seen_subcommand_from show append set help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and not __fish_seen_subcommand_from show append set help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and not __fish_seen_subcommand_from show append set help" -f -a "show" -d 'Print the shared knowledge'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and not __fish_seen_subcommand_from show append set help" -f -a "append" -d 'Add a line (or paragraph) at the end'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and not __fish_seen_subcommand_from show append set help" -f -a "set" -d 'Replace the whole content'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and not __fish_seen_subcommand_from show append set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from show" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from append" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from append" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from append" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from set" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from set" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the shared knowledge'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from help" -f -a "append" -d 'Add a line (or paragraph) at the end'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from help" -f -a "set" -d 'Replace the whole content'
complete -c ductor -n "__fish_ductor_using_subcommand shared-memory; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -f -a "create" -d 'Start a background task; prints its id. Its result comes back to this chat'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -f -a "resume" -d 'Continue a task in its session (a follow-up, or the answer to its question)'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -f -a "ask-parent" -d 'Inside a task only: ask the agent that started it a question'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -f -a "list" -d 'List this agent\'s tasks'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -f -a "cancel" -d 'Cancel a running or waiting task (its notes in TASKMEMORY.md are kept)'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -f -a "delete" -d 'Delete a finished task and its folder'
complete -c ductor -n "__fish_ductor_using_subcommand task; and not __fish_seen_subcommand_from create resume ask-parent list cancel delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -l name -d 'Short name shown to the user' -r
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -l provider -d 'Provider to run on (claude, codex, gemini; default: the agent\'s)' -r
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -l model -d 'Model to run on (default: the agent\'s)' -r
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -l thinking -d 'Reasoning effort (e.g. low, medium, high; what the model accepts)' -r
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -l priority -d 'Scheduling class' -r -f -a "interactive\t'Someone waits for it; not counted against tasks.max_parallel'
background\t'Normal background work'
batch\t'Bulk work'"
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from resume" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from resume" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from resume" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from ask-parent" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from ask-parent" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from ask-parent" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from list" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from cancel" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from cancel" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from delete" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "create" -d 'Start a background task; prints its id. Its result comes back to this chat'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "resume" -d 'Continue a task in its session (a follow-up, or the answer to its question)'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "ask-parent" -d 'Inside a task only: ask the agent that started it a question'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "list" -d 'List this agent\'s tasks'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'Cancel a running or waiting task (its notes in TASKMEMORY.md are kept)'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a finished task and its folder'
complete -c ductor -n "__fish_ductor_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -f -a "add" -d 'Add a job and create its task folder'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -f -a "edit" -d 'Change a job'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -f -a "list" -d 'List the jobs with their next run'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -f -a "remove" -d 'Remove a job and its task folder'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -f -a "run" -d 'Start a job now on the running agent (schedule and quiet hours do not apply)'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -f -a "time" -d 'Print the current time in zones (to work out schedules)'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and not __fish_seen_subcommand_from add edit list remove run time help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l name -d 'Job id (a-z, 0-9, -, _)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l title -d 'Title shown in the chat' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l description -d 'What the job does (the task description of a new job)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l schedule -d '5-field cron schedule, e.g. "0 9 * * 1-5"' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l timezone -d 'IANA time zone of the schedule (default: user_timezone)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l provider -d 'claude, codex or gemini' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l model -d 'Model' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l reasoning-effort -d 'Reasoning effort' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l cli-parameters -d 'Extra CLI arguments as a JSON list' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l quiet-start -d 'Quiet hours start (0-23, in user_timezone)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l quiet-end -d 'Quiet hours end (0-23)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l dependency -d 'Jobs with the same dependency name run one after another' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l catch-up -d 'Run the latest missed slot once when ductor starts ("once" or "none")' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -l silent-on-success -d 'Post nothing when a run succeeds'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l title -d 'Title shown in the chat' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l description -d 'What the job does (the task description of a new job)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l schedule -d '5-field cron schedule, e.g. "0 9 * * 1-5"' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l timezone -d 'IANA time zone of the schedule (default: user_timezone)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l provider -d 'claude, codex or gemini' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l model -d 'Model' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l reasoning-effort -d 'Reasoning effort' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l cli-parameters -d 'Extra CLI arguments as a JSON list' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l quiet-start -d 'Quiet hours start (0-23, in user_timezone)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l quiet-end -d 'Quiet hours end (0-23)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l dependency -d 'Jobs with the same dependency name run one after another' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l catch-up -d 'Run the latest missed slot once when ductor starts ("once" or "none")' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l silent-on-success -d 'Post nothing when a run succeeds'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l enable -d 'Switch it on'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -l disable -d 'Switch it off'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from list" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from list" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from remove" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from remove" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from run" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from run" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from run" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from time" -l zones -d 'Comma-separated IANA zones (default: user_timezone)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from time" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from time" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from time" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from time" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a job and create its task folder'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Change a job'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the jobs with their next run'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a job and its task folder'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "run" -d 'Start a job now on the running agent (schedule and quiet hours do not apply)'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "time" -d 'Print the current time in zones (to work out schedules)'
complete -c ductor -n "__fish_ductor_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -f -a "info" -d 'Type (from the content), size and time of a file; width and height of a picture; duration and streams of a recording (with ffprobe)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -f -a "list" -d 'The files the user sent, newest first (from the media index)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -f -a "read" -d 'The text of a document: text files, PDF, DOCX'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -f -a "video" -d 'A video: metadata, still frames (with ffmpeg) and a transcript (with the configured transcription command)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -f -a "transcribe" -d 'The transcript of a voice note, audio or video file, through the configured transcription command'
complete -c ductor -n "__fish_ductor_using_subcommand media; and not __fish_seen_subcommand_from info list read video transcribe help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from info" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from info" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from info" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from list" -l type -d 'Only this kind: image, audio, video, application, text, or a full type (application/pdf)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from list" -l date -d 'Only files received on this day (YYYY-MM-DD, UTC)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from list" -l limit -d 'At most this many files' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from list" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from list" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from read" -l max-pages -d 'Read at most this many pages of a PDF' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from read" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from read" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from read" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from read" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from video" -l frames -d 'How many frames to take, at even intervals' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from video" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from video" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from video" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from video" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from transcribe" -l agent -d 'The agent (default: $DUCTOR_AGENT_NAME, else main)' -r
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from transcribe" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from transcribe" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from transcribe" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from help" -f -a "info" -d 'Type (from the content), size and time of a file; width and height of a picture; duration and streams of a recording (with ffprobe)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from help" -f -a "list" -d 'The files the user sent, newest first (from the media index)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from help" -f -a "read" -d 'The text of a document: text files, PDF, DOCX'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from help" -f -a "video" -d 'A video: metadata, still frames (with ffmpeg) and a transcript (with the configured transcription command)'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from help" -f -a "transcribe" -d 'The transcript of a voice note, audio or video file, through the configured transcription command'
complete -c ductor -n "__fish_ductor_using_subcommand media; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -f -a "add" -d 'Add a hook; prints its URL and (bearer) token'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -f -a "edit" -d 'Switch a hook on or off, or change its title or template'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -f -a "list" -d 'List the hooks (no secrets)'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -f -a "remove" -d 'Remove a hook'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -f -a "rotate-token" -d 'Give a bearer hook a new token (printed once)'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -f -a "test" -d 'Post a signed test call to the running server'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and not __fish_seen_subcommand_from add edit list remove rotate-token test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l name -d 'Hook id (a-z, 0-9, -, _): the URL is /hooks/<id>' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l title -d 'Title' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l description -d 'Description' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l mode -d 'wake (a turn in the chat) or cron_task (a run in a task folder)' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l prompt-template -d 'Prompt with {{field}} placeholders (dotted paths allowed)' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l task-folder -d 'Task folder of a cron_task hook (created when missing)' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l preset -d 'Check signatures of a known sender instead of a bearer token' -r -f -a "github\t'X-Hub-Signature-256, hex, sha256= prefix'
stripe\t'Stripe-Signature with its signed timestamp'
shopify\t'X-Shopify-Hmac-Sha256, base64'"
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l secret -d 'The sender\'s signing secret (with --preset)' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from edit" -l title -d 'New title' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from edit" -l prompt-template -d 'New prompt template' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from edit" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from edit" -l enable -d 'Switch it on'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from edit" -l disable -d 'Switch it off'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from edit" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from remove" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-token" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-token" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-token" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l payload -d 'The JSON payload' -r
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from test" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a hook; prints its URL and (bearer) token'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Switch a hook on or off, or change its title or template'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the hooks (no secrets)'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a hook'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "rotate-token" -d 'Give a bearer hook a new token (printed once)'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "test" -d 'Post a signed test call to the running server'
complete -c ductor -n "__fish_ductor_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand api; and not __fish_seen_subcommand_from enable disable status help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand api; and not __fish_seen_subcommand_from enable disable status help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand api; and not __fish_seen_subcommand_from enable disable status help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand api; and not __fish_seen_subcommand_from enable disable status help" -f -a "enable" -d 'Switch the direct API on (adds the api block; makes a token when it has none)'
complete -c ductor -n "__fish_ductor_using_subcommand api; and not __fish_seen_subcommand_from enable disable status help" -f -a "disable" -d 'Switch the direct API off (api.enabled: false)'
complete -c ductor -n "__fish_ductor_using_subcommand api; and not __fish_seen_subcommand_from enable disable status help" -f -a "status" -d 'Show the API\'s settings and whether the running agent\'s API answers'
complete -c ductor -n "__fish_ductor_using_subcommand api; and not __fish_seen_subcommand_from enable disable status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from enable" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from enable" -l show-token -d 'Print the API token'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from disable" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from status" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Switch the direct API on (adds the api block; makes a token when it has none)'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Switch the direct API off (api.enabled: false)'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the API\'s settings and whether the running agent\'s API answers'
complete -c ductor -n "__fish_ductor_using_subcommand api; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "rebuild" -d 'Build the sandbox image now (output streamed); the container is made again at the next run'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "enable" -d 'Turn the sandbox on for every run (backend docker, podman or bwrap)'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "disable" -d 'Turn the sandbox off (runs happen on the host) and remove the container'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "status" -d 'Show the backend, the engine, the image, the container and the mounts'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "mount" -d 'Mount a host directory into the sandbox at /mnt/<name>'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "unmount" -d 'Remove a mount (by its path or its name)'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "mounts" -d 'List the mounts'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "extras" -d 'List the optional image layers'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "extras-add" -d 'Add an optional image layer (and what it needs); applies at the next rebuild'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "extras-remove" -d 'Remove an optional image layer; applies at the next rebuild'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and not __fish_seen_subcommand_from rebuild enable disable status mount unmount mounts extras extras-add extras-remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from rebuild" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from rebuild" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from rebuild" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from enable" -l backend -d 'The backend' -r
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from enable" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from disable" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from status" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from mount" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from mount" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from mount" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from unmount" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from unmount" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from unmount" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from mounts" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from mounts" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from mounts" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras-add" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras-add" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras-add" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras-remove" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras-remove" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from extras-remove" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "rebuild" -d 'Build the sandbox image now (output streamed); the container is made again at the next run'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Turn the sandbox on for every run (backend docker, podman or bwrap)'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Turn the sandbox off (runs happen on the host) and remove the container'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the backend, the engine, the image, the container and the mounts'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "mount" -d 'Mount a host directory into the sandbox at /mnt/<name>'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "unmount" -d 'Remove a mount (by its path or its name)'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "mounts" -d 'List the mounts'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "extras" -d 'List the optional image layers'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "extras-add" -d 'Add an optional image layer (and what it needs); applies at the next rebuild'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "extras-remove" -d 'Remove an optional image layer; applies at the next rebuild'
complete -c ductor -n "__fish_ductor_using_subcommand docker; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l transport -d 'Chat transport: telegram or matrix' -r -f -a "telegram\t''
matrix\t''"
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l token-file -d 'A file whose first line is the Telegram bot token; - reads it from standard input' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l telegram-api-url -d 'The Bot API server (for a self-hosted one)' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l users -d 'Telegram user ids allowed to use the bot, comma-separated' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l groups -d 'Telegram group ids the bot answers in, comma-separated (negative)' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l matrix-homeserver -d 'Matrix homeserver URL' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l matrix-user -d 'The bot\'s Matrix user id (@name:server)' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l matrix-password-file -d 'A file whose first line is the bot account\'s Matrix password (-: standard input)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l matrix-users -d 'Matrix users allowed to use the bot, comma-separated' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l provider -d 'Provider: claude, codex or gemini' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l model -d 'Model of that provider' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l sandbox -d 'Where the CLIs run: none, docker, podman or bwrap' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l timezone -d 'IANA timezone for schedules and daily resets (e.g. Europe/Berlin)' -r
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -s y -l yes -d 'Ask nothing: take every answer from its flag or its default, fail when a required one (token, user ids) is missing'
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l service -d 'Install and start the user service at the end without asking'
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l no-service -d 'Do not install the user service (and do not ask)'
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l keep-data -d 'reset: keep sessions, memory and workspace without asking (the default)'
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -l remove-data -d 'reset: delete everything in the home before the new set-up is written'
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand onboarding" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l transport -d 'Chat transport: telegram or matrix' -r -f -a "telegram\t''
matrix\t''"
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l token-file -d 'A file whose first line is the Telegram bot token; - reads it from standard input' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l telegram-api-url -d 'The Bot API server (for a self-hosted one)' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l users -d 'Telegram user ids allowed to use the bot, comma-separated' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l groups -d 'Telegram group ids the bot answers in, comma-separated (negative)' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l matrix-homeserver -d 'Matrix homeserver URL' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l matrix-user -d 'The bot\'s Matrix user id (@name:server)' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l matrix-password-file -d 'A file whose first line is the bot account\'s Matrix password (-: standard input)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l matrix-users -d 'Matrix users allowed to use the bot, comma-separated' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l provider -d 'Provider: claude, codex or gemini' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l model -d 'Model of that provider' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l sandbox -d 'Where the CLIs run: none, docker, podman or bwrap' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l timezone -d 'IANA timezone for schedules and daily resets (e.g. Europe/Berlin)' -r
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand reset" -s y -l yes -d 'Ask nothing: take every answer from its flag or its default, fail when a required one (token, user ids) is missing'
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l service -d 'Install and start the user service at the end without asking'
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l no-service -d 'Do not install the user service (and do not ask)'
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l keep-data -d 'reset: keep sessions, memory and workspace without asking (the default)'
complete -c ductor -n "__fish_ductor_using_subcommand reset" -l remove-data -d 'reset: delete everything in the home before the new set-up is written'
complete -c ductor -n "__fish_ductor_using_subcommand reset" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand reset" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand config; and not __fish_seen_subcommand_from get set help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand config; and not __fish_seen_subcommand_from get set help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand config; and not __fish_seen_subcommand_from get set help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand config; and not __fish_seen_subcommand_from get set help" -f -a "get" -d 'Print the effective value of a key as JSON (secrets masked)'
complete -c ductor -n "__fish_ductor_using_subcommand config; and not __fish_seen_subcommand_from get set help" -f -a "set" -d 'Change a key: the value is JSON when it parses (false, 5, [1,2], null), else a string. Checked like at start-up before anything is written'
complete -c ductor -n "__fish_ductor_using_subcommand config; and not __fish_seen_subcommand_from get set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from get" -l agent -d 'A sub-agent: its effective (merged) value' -r
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from get" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from get" -l reveal -d 'Print secrets (tokens, passwords, API keys) as they are'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from get" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from set" -l agent -d 'Change this sub-agent\'s entry in agents.json instead of config.json' -r
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from set" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from set" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "get" -d 'Print the effective value of a key as JSON (secrets masked)'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a key: the value is JSON when it parses (false, 5, [1,2], null), else a string. Checked like at start-up before anything is written'
complete -c ductor -n "__fish_ductor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand doctor" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand doctor" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "install" -d 'Install ductor as a user service (systemd on Linux, launchd on macOS) and start it'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "uninstall" -d 'Stop the service and remove it'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "start" -d 'Start the installed service'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "stop" -d 'Stop the service (it starts again at the next login or boot)'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "restart" -d 'Restart the service'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "status" -d 'Show whether the service is installed and how it runs'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "logs" -d 'Show the service\'s log (the journal on Linux, else logs/agent.log), following it'
complete -c ductor -n "__fish_ductor_using_subcommand service; and not __fish_seen_subcommand_from install uninstall start stop restart status logs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from install" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from install" -l print -d 'Print the unit (the plist on macOS) that would be installed, and do nothing else'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from install" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from uninstall" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from start" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from start" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from stop" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from stop" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from restart" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from restart" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from restart" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from status" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from logs" -s n -l lines -d 'How many of the last lines to show first' -r
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from logs" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from logs" -l no-follow -d 'Print the last lines and exit instead of following'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from logs" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from logs" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install ductor as a user service (systemd on Linux, launchd on macOS) and start it'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Stop the service and remove it'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start the installed service'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop the service (it starts again at the next login or boot)'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "restart" -d 'Restart the service'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show whether the service is installed and how it runs'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "logs" -d 'Show the service\'s log (the journal on Linux, else logs/agent.log), following it'
complete -c ductor -n "__fish_ductor_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand uninstall" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand uninstall" -s y -l yes -d 'Delete the home without asking'
complete -c ductor -n "__fish_ductor_using_subcommand uninstall" -l keep-home -d 'Keep the home (only stop ductor and remove its service and sandbox)'
complete -c ductor -n "__fish_ductor_using_subcommand uninstall" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand uninstall" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand upgrade" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand upgrade" -l check -d 'Only say whether a newer version exists'
complete -c ductor -n "__fish_ductor_using_subcommand upgrade" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand upgrade" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand completions" -l home -d 'ductor home (default: $DUCTOR_HOME, else ~/.ductor)' -r -F
complete -c ductor -n "__fish_ductor_using_subcommand completions" -s v -l verbose -d 'More logging (-v debug, -vv trace); RUST_LOG overrides'
complete -c ductor -n "__fish_ductor_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "run" -d 'Run ductor in the foreground (the default)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "status" -d 'Show whether ductor runs and how every agent is doing'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "stop" -d 'Stop the running ductor (all agents and their CLI processes)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "restart" -d 'Restart the running ductor (or start it in the background)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "agents" -d 'Manage sub-agents (agents.json)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "ask" -d 'Ask another agent (run by an agent\'s CLI; prints the answer, or a task id with --async)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "shared-memory" -d 'Show or edit SHAREDMEMORY.md, the knowledge every agent shares'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "task" -d 'Background tasks (run by an agent\'s CLI: create, resume, ask-parent, list, cancel, delete)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "cron" -d 'Scheduled jobs of an agent (add, edit, list, remove, time)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "media" -d 'Media tools for an agent\'s CLI: info, list, read, video, transcribe (JSON output)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "webhooks" -d 'Webhooks of the main agent (add, edit, list, remove, rotate-token, test)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "api" -d 'The direct API of the main agent: enable (prints its URL), disable, status'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "docker" -d 'The sandbox every CLI run happens in: rebuild, enable, disable, status, mount, unmount, mounts, extras, extras-add, extras-remove'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "onboarding" -d 'Set ductor up (or change its set-up): transport, token, users, provider, sandbox, timezone, service'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "reset" -d 'Stop ductor, optionally delete its data, and run the set-up again'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "config" -d 'Read or change one setting of config.json (or of a sub-agent\'s entry), by dotted key'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "doctor" -d 'Check this home: config, tokens (live), CLIs and their versions, clock, bus, service, sandbox, disk, permissions; exit status 1 when something blocks running'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "service" -d 'Run ductor as a user service: install, uninstall, start, stop, restart, status, logs'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "uninstall" -d 'Stop ductor, remove its service and sandbox, and (after asking) delete the home'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "upgrade" -d 'Upgrade ductor to the newest release the way it was installed, then restart it'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c ductor -n "__fish_ductor_using_subcommand help; and not __fish_seen_subcommand_from run status stop restart agents ask shared-memory task cron media webhooks api docker onboarding reset config doctor service uninstall upgrade completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from agents" -f -a "list" -d 'List the agents, with live status when ductor runs'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from agents" -f -a "add" -d 'Add a Telegram sub-agent (asks for missing values on a terminal)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from agents" -f -a "remove" -d 'Remove a sub-agent (its data directory is kept)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from shared-memory" -f -a "show" -d 'Print the shared knowledge'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from shared-memory" -f -a "append" -d 'Add a line (or paragraph) at the end'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from shared-memory" -f -a "set" -d 'Replace the whole content'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "create" -d 'Start a background task; prints its id. Its result comes back to this chat'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "resume" -d 'Continue a task in its session (a follow-up, or the answer to its question)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "ask-parent" -d 'Inside a task only: ask the agent that started it a question'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "list" -d 'List this agent\'s tasks'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "cancel" -d 'Cancel a running or waiting task (its notes in TASKMEMORY.md are kept)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "delete" -d 'Delete a finished task and its folder'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "add" -d 'Add a job and create its task folder'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "edit" -d 'Change a job'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "list" -d 'List the jobs with their next run'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "remove" -d 'Remove a job and its task folder'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "run" -d 'Start a job now on the running agent (schedule and quiet hours do not apply)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "time" -d 'Print the current time in zones (to work out schedules)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from media" -f -a "info" -d 'Type (from the content), size and time of a file; width and height of a picture; duration and streams of a recording (with ffprobe)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from media" -f -a "list" -d 'The files the user sent, newest first (from the media index)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from media" -f -a "read" -d 'The text of a document: text files, PDF, DOCX'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from media" -f -a "video" -d 'A video: metadata, still frames (with ffmpeg) and a transcript (with the configured transcription command)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from media" -f -a "transcribe" -d 'The transcript of a voice note, audio or video file, through the configured transcription command'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "add" -d 'Add a hook; prints its URL and (bearer) token'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "edit" -d 'Switch a hook on or off, or change its title or template'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "list" -d 'List the hooks (no secrets)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "remove" -d 'Remove a hook'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "rotate-token" -d 'Give a bearer hook a new token (printed once)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "test" -d 'Post a signed test call to the running server'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from api" -f -a "enable" -d 'Switch the direct API on (adds the api block; makes a token when it has none)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from api" -f -a "disable" -d 'Switch the direct API off (api.enabled: false)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from api" -f -a "status" -d 'Show the API\'s settings and whether the running agent\'s API answers'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "rebuild" -d 'Build the sandbox image now (output streamed); the container is made again at the next run'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "enable" -d 'Turn the sandbox on for every run (backend docker, podman or bwrap)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "disable" -d 'Turn the sandbox off (runs happen on the host) and remove the container'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "status" -d 'Show the backend, the engine, the image, the container and the mounts'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "mount" -d 'Mount a host directory into the sandbox at /mnt/<name>'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "unmount" -d 'Remove a mount (by its path or its name)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "mounts" -d 'List the mounts'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "extras" -d 'List the optional image layers'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "extras-add" -d 'Add an optional image layer (and what it needs); applies at the next rebuild'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from docker" -f -a "extras-remove" -d 'Remove an optional image layer; applies at the next rebuild'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "get" -d 'Print the effective value of a key as JSON (secrets masked)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "set" -d 'Change a key: the value is JSON when it parses (false, 5, [1,2], null), else a string. Checked like at start-up before anything is written'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "install" -d 'Install ductor as a user service (systemd on Linux, launchd on macOS) and start it'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "uninstall" -d 'Stop the service and remove it'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "start" -d 'Start the installed service'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "stop" -d 'Stop the service (it starts again at the next login or boot)'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "restart" -d 'Restart the service'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "status" -d 'Show whether the service is installed and how it runs'
complete -c ductor -n "__fish_ductor_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "logs" -d 'Show the service\'s log (the journal on Linux, else logs/agent.log), following it'
