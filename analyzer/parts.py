"""One large capture read on several cores: the file cut into byte ranges ("parts").

Owns the plan (where to cut), what each part reports besides its rows (`PartInfo`),
and the merge that makes the parts' rows exactly the rows of one sequential run.

How a part runs (`analyzer.pipeline.analyze_file(..., part=...)`):

- Part k reads the file from its start, but packet records that start before its
  byte range are only counted (frame numbers stay the file's; pcapng interface,
  section and secrets blocks are read as usual), then it analyses its range as if
  the capture began there: a connection already open before the range is seen
  "mid-stream".
- At the end of its range the part freezes its flow table: from there it follows
  only the connections open at that point, to their close (or the end of the
  file), creating no new stream, and stops reading as soon as none is left.
  Those connections are therefore complete in the part that saw them start.
- The next part's rows then contain stand-ins for the same connections (flows it
  saw mid-stream) and for late segments of connections closed just before its
  range. The merge drops them, using what each part reports: the 4-tuples open or
  recently closed (tombstoned) at the end of its range, with the frame and reason of
  each close, and the flows the next part started without a SYN (plus SYNs early in
  its range, which may be retransmissions of a SYN from before it).
- Stream numbers (Wireshark's `tcp.stream`, the order of first packets) are
  renumbered: part k's streams follow the streams created in parts < k, less the
  stand-ins dropped.

When the merge cannot be sure of giving the sequential result (a stand-in flow took a
SYN that would have started a new conversation, more flows than `MAX_LIVE_FLOWS` at
once, too many stand-ins), it says so and the caller reads the file sequentially.
UDP (QUIC, DTLS) is left out of the parts: when a part saw QUIC- or DTLS-looking
datagrams, the caller runs one UDP-only pass over the whole file (UDP conversations are
numbered over it).
"""

from __future__ import annotations

import bisect
import functools
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

#: Files smaller than this are never cut (a part costs a process and a pass over the
#: records before its range).
MIN_SPLIT_BYTES = 32 << 20
#: Smallest part.
MIN_PART_BYTES = 16 << 20
#: Flows a part may start without a SYN (stand-in candidates) before the merge gives up.
MAX_CANDIDATES = 1_000_000
#: Seconds after a part's first packet during which flows started by a SYN are also
#: candidates (a retransmitted SYN of a connection that began in the previous part: Linux
#: gives up retrying a SYN after 127 s, Windows and macOS sooner).
SYN_WINDOW = 150.0
#: Closed 4-tuples carried from one part to the next (the flow table's tombstone bound).
MAX_TOMBSTONES = 65536

Key = tuple[bytes, int, bytes, int]


@dataclass(frozen=True)
class Part:
    """Bytes [start, end) of a file: packet records starting in it belong to this part."""

    index: int
    count: int
    start: int
    end: int
    slot: int = -1  # where the part's progress goes (analyzer.batch), -1: nowhere
    spool: str | None = None  # a folder where the part leaves its rows for the merge (analyzer.batch)

    @property
    def first(self) -> bool:
        return self.index == 0

    @property
    def last(self) -> bool:
        return self.index == self.count - 1


@dataclass(slots=True)
class Candidate:
    """A flow a part started that may stand in for one of the previous part's."""

    key: Key
    stream: int
    first_frame: int
    role: str               # Flow.role_source: 'syn' = started by a pure SYN
    syn_frame: int | None   # frame of the first pure SYN the flow took (None: none)
    again: bool             # an earlier flow of this part had the same 4-tuple
    isn: int | None = None  # the client's initial sequence number, from its SYN


@dataclass
class PartInfo:
    """What a part reports for the merge (plain values, sent between processes)."""

    index: int = 0
    count: int = 1
    created: int = 0                        # TCP streams started within the part's range
    # 4-tuples open at the end of the range -> (frame of their close, reason); frame None:
    # still open at the end of the file
    live: dict[Key, tuple[int | None, str]] = field(default_factory=dict)
    tombs: set[Key] = field(default_factory=set)   # 4-tuples closed (tombstoned) before the end
    # 4-tuples closed without payload by the end of the part's run -> the client's ISN: a SYN
    # with that ISN in a later part continues that connection in a sequential run
    retry: dict[Key, int] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    udp: bool = False                       # saw datagrams that may be QUIC (long header) or DTLS (a handshake record)
    unsure: str | None = None               # why this part cannot be merged exactly
    mark_frame: int | None = None           # first frame after the range (not the last part)
    warnings: list[str] = field(default_factory=list)  # warnings about the part's own range
    frames: Any = None                      # capture.FrameCounts of the part's range
    detached: str | None = None             # live, tombs and candidates are in this file (see detach)

    def detach(self, path: str) -> None:
        """Move the bulky fields (live, tombs, candidates: up to tens of thousands of 4-tuples)
        to a file, so the part's process can exit before the merge reads them."""
        import pickle

        with open(path, "wb") as f:
            pickle.dump((self.live, self.tombs, self.candidates, self.retry), f,
                        protocol=pickle.HIGHEST_PROTOCOL)
        self.live, self.tombs, self.candidates, self.retry = {}, set(), [], {}
        self.detached = path

    def attach(self) -> None:
        """Read back what detach() moved out (and remove its file)."""
        if self.detached is None:
            return
        import os
        import pickle

        with open(self.detached, "rb") as f:
            self.live, self.tombs, self.candidates, self.retry = pickle.load(f)
        os.unlink(self.detached)
        self.detached = None


def splittable(path: str, size: int) -> bool:
    """Whether a file can be read in parts: an uncompressed pcap/pcapng of MIN_SPLIT_BYTES or more."""
    if size < MIN_SPLIT_BYTES:
        return False
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError:
        return False
    return magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                     b"\x0a\x0d\x0d\x0a")


def plan(size: int, parts: int, skip_ratio: float = 0.0) -> list[Part]:
    """Cut `size` bytes into up to `parts` ranges of at least MIN_PART_BYTES that should take
    about the same time: a part also walks the records before its range, at `skip_ratio` of the
    cost of analysing them, so later parts get a little less (part k ends where
    size * (1 - (1-r)^(k+1)) / (1 - (1-r)^n); equal parts for r = 0)."""
    n = max(1, min(parts, size // MIN_PART_BYTES))
    r = min(max(skip_ratio, 0.0), 0.5)
    if r > 0:
        q = 1.0 - r
        bounds = [int(size * (1.0 - q ** i) / (1.0 - q ** n)) for i in range(n + 1)]
    else:
        bounds = [size * i // n for i in range(n + 1)]
    bounds[0], bounds[n] = 0, size
    return [Part(i, n, bounds[i], bounds[i + 1]) for i in range(n)]


# Costs per record measured on the benchmark captures (2 cores, CPython 3.11), as ratios:
# walking a record before a part's range ~0.2 us, analysing it ~1.2 us plus ~155 us per
# connection (bulk-heavy: 1M records, 2,000 connections; handshake-heavy: 331k, 20,000).
SKIP_COST, RECORD_COST, CONNECTION_COST = 0.2, 1.2, 155.0
SAMPLE_BYTES = 4 << 20


def skip_ratio(path: str) -> float:
    """How much walking past a record costs relative to analysing it, estimated from the
    records and connection starts (pure SYNs) in the first SAMPLE_BYTES of the file; 0 when
    that cannot be read (equal parts)."""
    try:
        st = os.stat(path)
    except OSError:
        return 0.0
    return _skip_ratio(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)  # asked once to decide whether to cut, once to cut
def _skip_ratio(path: str, size: int, mtime_ns: int) -> float:
    from .capture import Capture, CaptureError

    records = syns = 0
    try:
        with Capture(path) as cap:
            for seg in cap.segments():
                records = seg[0]
                if seg[8] & 0x12 == 0x02:
                    syns += 1
                if cap.stats.bytes_read > SAMPLE_BYTES:
                    break
    except (CaptureError, OSError):
        return 0.0
    if records == 0:
        return 0.0
    return SKIP_COST / (RECORD_COST + CONNECTION_COST * syns / records)


class Recorder:
    """Collects a part's stand-in candidates as its flow table creates flows."""

    def __init__(self, info: PartInfo) -> None:
        self.info = info
        # flows started by a SYN are final at once (their syn_frame is their first frame); the
        # others (started mid-stream, few) are kept as flows: they may still take a SYN
        self.done: list[Candidate] = []
        self.open: list[tuple[Any, bool]] = []
        self._t0: float | None = None

    def __call__(self, flow: Any, again: bool) -> None:
        if self._t0 is None:
            self._t0 = flow.start_ts
        syn = flow.role_source == "syn"
        if syn and flow.start_ts - self._t0 > SYN_WINDOW:
            return
        if len(self.done) + len(self.open) >= MAX_CANDIDATES:
            self.info.unsure = f"more than {MAX_CANDIDATES} flows that may stand in for earlier ones"
            return
        if syn:
            self.done.append(Candidate(flow._key, flow.stream, flow.first_frame, "syn", flow.first_frame, again,
                                       flow._isn0))
        else:
            self.open.append((flow, again))

    def finish(self) -> None:
        self.info.candidates = self.done + [
            Candidate(f._key, f.stream, f.first_frame, f.role_source, f.syn_frame, a, f._isn0) for f, a in self.open
        ]
        self.done = []
        self.open = []


State = dict[Key, tuple[int | None, str]]  # 4-tuple -> (close frame or None: open to the end, reason)
_TOMB = (-1, "closed")                      # closed before: late segments start no new flow


def _dropped(state: State, info: PartInfo, retry: dict[Key, int] | None = None) -> tuple[set[int], str | None]:
    """Local stream numbers of `info`'s stand-ins, given the state of the earlier parts'
    connections at the start of its range (and their closes without payload, `retry`: 4-tuple
    -> client ISN); or why that cannot be decided exactly."""
    by_key: dict[Key, list[Candidate]] = {}
    for c in info.candidates:
        if c.key in state:
            by_key.setdefault(c.key, []).append(c)
    drop: set[int] = set()
    for key, flows in by_key.items():
        close, reason = state[key]
        flows.sort(key=lambda c: c.first_frame)
        for c in flows:
            if (retry and close is not None and c.role == "syn" and c.isn is not None
                    and retry.get(key) == c.isn and c.first_frame > close):
                # a sequential run may continue the earlier connection with this SYN retry
                return drop, f"a SYN retry in frame {c.first_frame} may continue a connection of an earlier part"
            if close is None:  # open to the end of the file: every flow on it is that connection
                drop.add(c.stream)
                continue
            if c.first_frame < close or (c.first_frame == close and reason != "reuse"):
                drop.add(c.stream)  # the connection before its close (mid-stream, or a SYN retransmission)
                if c.syn_frame is not None and (c.syn_frame > close or (reason == "reuse" and c.syn_frame >= close)):
                    return drop, f"a stand-in flow took a SYN that starts a new conversation in frame {c.syn_frame}"
            elif reason != "reuse" and not c.again and c.role != "syn":
                # late segments of the closed connection (a sequential run drops them)
                drop.add(c.stream)
                if c.syn_frame is not None:
                    return drop, f"a stand-in flow took a SYN that starts a new conversation in frame {c.syn_frame}"
    return drop, None


def _advance(state: State, info: PartInfo) -> State:
    """The state at the end of `info`'s range, from the state at its start and what it saw."""
    mark = info.mark_frame
    new: State = {}
    for key, (close, reason) in state.items():
        if close is None or (mark is not None and close >= mark):
            new[key] = (close, reason)  # an earlier part's connection, still open
    for key, entry in info.live.items():
        new.setdefault(key, entry)
    for key in info.tombs:
        new.setdefault(key, _TOMB)
    tombs = 0
    for key in state:  # closed within this range with no later flow: tombstoned
        if key not in new and tombs < MAX_TOMBSTONES:
            new[key] = _TOMB
            tombs += 1
    return new


def merge_plan(infos: list[PartInfo]) -> tuple[list[set[int]], list[int], str | None]:
    """For each part (in order): the local stream numbers to drop and the number its streams
    start from; or why the parts cannot be merged exactly (then the file must be read
    sequentially)."""
    drops: list[set[int]] = []
    bases: list[int] = []
    base = 0
    state: State = {}
    retry: dict[Key, int] = {}
    for info in infos:
        if info.unsure:
            return [], [], info.unsure
        drop, unsure = _dropped(state, info, retry)
        if unsure:
            return [], [], unsure
        drops.append(drop)
        bases.append(base)
        base += info.created - len(drop)
        state = _advance(state, info)
        retry.update(info.retry)
    return drops, bases, None


def renumber(rows: Iterable[tuple[Any, ...]], drop: set[int], base: int, stream_index: int,
             transport_index: int) -> Iterator[tuple[Any, ...]]:
    """One part's rows as a sequential run numbers them, stand-ins left out."""
    order = sorted(drop)
    for r in rows:
        s = r[stream_index]
        if r[transport_index] != "tcp" or s is None:
            yield r
            continue
        if s in drop:
            continue
        new = base + s - bisect.bisect_left(order, s)
        yield r if new == s else r[:stream_index] + (new,) + r[stream_index + 1:]


def merge(parts: list[tuple[PartInfo, list[tuple[Any, ...]]]], stream_index: int, transport_index: int
          ) -> tuple[list[tuple[Any, ...]], list[str], str | None]:
    """The rows of one sequential run from the parts' rows (tuples in `COLUMNS` order), in
    part order (not sorted), with the parts' warnings.

    Returns (rows, warnings, unsure): when `unsure` is not None the rows cannot be
    trusted and the file must be read sequentially.
    """
    drops, bases, unsure = merge_plan([info for info, _ in parts])
    if unsure:
        return [], [], unsure
    rows_out: list[tuple[Any, ...]] = []
    warnings: list[str] = []
    for (info, rows), drop, base in zip(parts, drops, bases):
        rows_out.extend(renumber(rows, drop, base, stream_index, transport_index))
        warnings.extend(info.warnings)
    return rows_out, warnings, None


__all__ = ["Candidate", "MIN_PART_BYTES", "MIN_SPLIT_BYTES", "Part", "PartInfo", "Recorder", "merge", "merge_plan",
           "plan", "renumber", "skip_ratio", "splittable"]
