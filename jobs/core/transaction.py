"""A transaction sent as one Lua script, so that a check and the writes it allows cost one round
trip, and the writes never start when the check refuses.

    pipe = transaction.pipeline(connection)        # records; it is never executed itself
    pipe.eval(ADMIT, 1, key, ...)                  # the gate: a registered script answering 0 or 1
    queue.enqueue_call(..., pipeline=pipe)         # RQ's own writes, recorded as it makes them
    index.add(pipe, ...)
    if not transaction.execute(connection, pipe, gated=True):   # refused: nothing was written
        ...

A MULTI/EXEC cannot be made conditional on one of its own commands' answers, and a check sent
before it is a round trip more. The commands recorded in the pipeline are sent as the
arguments of one script that runs them in order; a recorded EVAL runs its script in place,
which is why every script a transaction may hold is registered here by its text (a script
cannot call EVAL). What Redis refuses before anything is written (OOM, a read-only replica)
leaves nothing written, as an aborted MULTI does; an error part way (WRONGTYPE) stops the
script there, as it would leave a MULTI's other commands run.
"""

from __future__ import annotations

from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script

# Registered script texts, by name; the names are what a transaction sends in place of the text.
_SCRIPTS: dict[str, str] = {}
_NAMES: dict[str, str] = {}
_compiled: tuple[tuple[str, ...], Script] | None = None

_RUN = """
local i, first = 2, true
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  if ARGV[i + 1] == 'EVAL' then
    local numkeys = tonumber(ARGV[i + 3])
    local keys, args = {}, {}
    for j = i + 4, i + 3 + numkeys do keys[#keys + 1] = ARGV[j] end
    for j = i + 4 + numkeys, i + n do args[#args + 1] = ARGV[j] end
    local answer = scripts[ARGV[i + 2]](keys, args)
    if first and ARGV[1] == '1' and answer == 0 then return 0 end
  else
    redis.call(unpack(ARGV, i + 1, i + n))
  end
  first = false
  i = i + n + 1
end
return 1
"""


def register(name: str, text: str) -> str:
    """Let transactions run the script `text` (which reads KEYS and ARGV as EVAL gives them);
    return the text, for the module's own EVALs outside a transaction."""
    _SCRIPTS[name] = text
    _NAMES[text] = name
    return text


def _script() -> Script:
    global _compiled
    names = tuple(_SCRIPTS)
    if _compiled is None or _compiled[0] != names:
        bodies = "".join(f"scripts[{name!r}] = function(KEYS, ARGV)\n{_SCRIPTS[name]}\nend\n" for name in names)
        _compiled = (names, Script(None, ("local scripts = {}\n" + bodies + _RUN).encode()))
    return _compiled[1]


def pipeline(client: Redis) -> Pipeline:
    """A pipeline to record a transaction in, already in MULTI mode as RQ expects of one it is given."""
    pipe = client.pipeline()
    pipe.multi()
    return pipe


def execute(client: Redis, pipe: Pipeline, *, gated: bool = False) -> bool:
    """Run the commands recorded in `pipe` as one script on `client`, and empty the pipeline.

    With `gated`, the first command is a registered script whose answer 0 stops the rest
    before it starts: then False is returned and nothing else was run.
    """
    return bool(_script()(keys=[], args=_arguments(pipe, gated), client=client))


def execute_and_wait(client: Redis, pipe: Pipeline, replicas: int, timeout_ms: int, *, gated: bool = False):
    """As `execute`, then `WAIT replicas timeout_ms` on the same connection (WAIT counts the
    replicas holding that connection's writes): (whether it ran, how many replicas hold it)."""
    batch = client.pipeline(transaction=False)  # one connection, the two commands in order
    _script()(keys=[], args=_arguments(pipe, gated), client=batch)
    batch.execute_command("WAIT", replicas, timeout_ms)
    ran, copied = batch.execute()
    return bool(ran), int(copied)


def _arguments(pipe: Pipeline, gated: bool) -> list:
    """The recorded commands as the script's arguments; the pipeline is emptied."""
    argv: list = ["1" if gated else "0"]
    for args, _options in pipe.command_stack:
        if args[0] == "EVAL":
            name = _NAMES.get(args[1])
            if name is None:
                raise ValueError("a transaction may only EVAL a script registered with jobs.core.transaction")
            args = ("EVAL", name, *args[2:])
        argv.append(len(args))
        argv.extend(args)
    pipe.reset()
    return argv
