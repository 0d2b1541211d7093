"""``python -m qjob``: the QMP server and the scenario replayer.

::

    python -m qjob serve --socket PATH | --tcp HOST:PORT [--speed F | --manual] [--machine] [--qemu 7.2|10.0]
    python -m qjob replay [--qemu 7.2|10.0] SCENARIO...
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Optional

from . import JobManager, replay

USAGE_REPLAY = (
    "usage: replay [--qemu 7.2|10.0] SCENARIO...\n\n"
    "Replays each scenario (format: scenarios/README.md) through qjob, reproducing QEMU 7.2 or "
    "the version given, and prints its transcript."
)


def _known_qemu(qemu: str) -> bool:
    """Whether the extension reproduces QEMU ``qemu`` (it decides, not this file)."""
    try:
        JobManager.empty(qemu=qemu)
    except ValueError:
        return False
    return True


def _replay(args: list[str]) -> int:
    """The Rust replayer's behaviour exactly (core/examples/replay.rs): one
    transcript per file, each preceded by ``# FILE`` when there are several;
    ``--qemu 7.2|10.0`` picks the QEMU reproduced."""
    files = list(args)
    if any(f in ("-h", "--help") for f in files):
        print(USAGE_REPLAY, file=sys.stderr)
        return 0
    qemu = "7.2"
    if "--qemu" in files:
        i = files.index("--qemu")
        qemu_arg = files[i + 1] if i + 1 < len(files) else None
        if qemu_arg is None or not _known_qemu(qemu_arg):
            print("replay: --qemu takes 7.2 or 10.0\n" + USAGE_REPLAY, file=sys.stderr)
            return 2
        qemu = qemu_arg
        del files[i : i + 2]
    if not files:
        print(USAGE_REPLAY, file=sys.stderr)
        return 2
    status = 0
    out = sys.stdout.buffer
    for f in files:
        try:
            with open(f, encoding="utf-8", newline="") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as e:
            print(f"replay: {f}: {e}", file=sys.stderr)
            status = 1
            continue
        if len(files) > 1:
            out.write(f"# {f}\n".encode())
        try:
            out.write(replay(text, qemu=qemu).encode())
        except ValueError as e:
            out.flush()
            print(f"replay: {f}: {e}", file=sys.stderr)
            status = 1
    out.flush()
    return status


def _tcp_address(s: str) -> tuple[str, int]:
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {s!r}")
    return (host.strip("[]") or "127.0.0.1", int(port))


def _serve(args: argparse.Namespace) -> int:
    from .server import serve

    manager = JobManager(machine=args.machine, qemu=args.qemu)
    speed = 0.0 if args.manual else args.speed

    def listening(addresses: list[str]) -> None:
        for a in addresses:
            print(f"qjob {'manual' if speed == 0 else f'x{speed:g}'} QMP server listening on {a}", flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await serve(unix=args.socket, tcp=args.tcp, manager=manager, speed=speed, on_listening=listening)
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "replay":
        return _replay(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m qjob", description="qjob: QEMU 7.2's job lifecycle")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("replay", help="replay scenarios and print their transcripts")
    p = sub.add_parser("serve", help="serve QMP over a socket")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", metavar="PATH", help="listen on a Unix socket")
    where.add_argument("--tcp", metavar="HOST:PORT", type=_tcp_address, help="listen on TCP (port 0: any free port)")
    clock = p.add_mutually_exclusive_group()
    clock.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="F",
        help="virtual seconds per real second (default 1; 0 = manual)",
    )
    clock.add_argument(
        "--manual",
        action="store_true",
        help="virtual time moves only by x-qjob-advance / x-qjob-wait",
    )
    p.add_argument("--machine", action="store_true", help="offer the VM-only snapshot-* commands")
    p.add_argument("--qemu", choices=("7.2", "10.0"), default="7.2", help="the QEMU reproduced (default 7.2)")
    args = parser.parse_args(argv)
    if args.speed < 0:
        parser.error("--speed must be >= 0")
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
