"""Write git objects straight into a packfile, and keep trees cheap to change.

bench/generate.py makes a million commits; writing them as loose objects (or
through libgit2's odb, one zlib stream and file each) and packing afterwards
with ``git gc`` costs more than making them. git 2.39's fast-import cannot
take a signed commit (``gpgsig`` arrived in later versions), so this module
writes the pack itself (gitformat-pack: version 2, whole objects and
OFS_DELTA entries) and lets ``git index-pack`` check every object and write
the index. index-pack hashes every object again, so an object this module
got wrong is an error, not a silently broken repository.

Trees: a commit changes one file, ``pkgs/by-name/XX/NAME/package.nix``; only
the trees along that path change. A tree version (:class:`Dir`) keeps its
raw bytes; a new version is the old bytes with one entry spliced in, and the
splice is also the delta against the old version, so a changed tree of
thousands of entries costs one SHA-1 and a few-byte delta, never a sort or a
diff. Delta chains are cut at :data:`MAX_DEPTH`, as ``git repack`` does.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from zlib import DEFLATED, compressobj
from bisect import bisect_left
from pathlib import Path

OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_OFS_DELTA = 1, 2, 3, 6
MAX_DEPTH = 50  # git repack's default --depth
BIG = 4096
MODE_DIR = b"40000 "
MODE_FILE = b"100644 "


def _obj_header(kind: int, size: int) -> bytes:
    c = (kind << 4) | (size & 15)
    size >>= 4
    out = bytearray()
    while size:
        out.append(c | 0x80)
        c = size & 0x7F
        size >>= 7
    out.append(c)
    return bytes(out)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _ofs(distance: int) -> bytes:
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


def _copy_op(off: int, n: int) -> bytes:
    out = bytearray()
    while n:
        m = min(n, 0xFFFFFF)
        cmd, args = 0x80, bytearray()
        bit = 1
        for b in off.to_bytes(4, "little") + m.to_bytes(3, "little"):
            if b:
                cmd |= bit
                args.append(b)
            bit <<= 1
        out.append(cmd)
        out += args
        off += m
        n -= m
    return bytes(out)


def encode_delta(base_len: int, target_len: int, pieces: list) -> bytes:
    """A git delta from pieces: (offset, length) copies from the base, bytes inserted."""
    out = [_varint(base_len), _varint(target_len)]
    for p in pieces:
        if isinstance(p, tuple):
            out.append(_copy_op(*p))
        else:
            for i in range(0, len(p), 127):
                chunk = p[i : i + 127]
                out.append(bytes((len(chunk),)) + chunk)
    return b"".join(out)


def common_affixes(a: bytes, b: bytes) -> tuple[int, int]:
    """Lengths of the common prefix and (non-overlapping) common suffix."""
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    p = lo
    lo, hi = 0, n - p
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return p, lo


class PackWriter:
    """Appends objects to ``objects/pack/tmp-NAME.pack`` of a repository;
    :meth:`install` finishes the pack and runs ``git index-pack`` on it."""

    def __init__(self, gitdir: Path, name: str, level: int = 1):
        """``level``: zlib level of objects up to BIG bytes; bigger ones are
        stored (level 0): a 100 kB tree of object ids deflates by a sixth
        at 65 MB/s, which would make whole trees the planner's main cost."""
        self.gitdir = Path(gitdir)
        self.path = self.gitdir / "objects" / "pack" / f"tmp-{name}.pack"
        self.f = open(self.path, "wb", buffering=1 << 20)
        self.f.write(b"PACK\0\0\0\2\0\0\0\0")  # object count patched in close()
        self.pos = 12
        self.count = 0
        self.level = level

    def _put(self, head: bytes, data: bytes, level: int) -> int:
        off = self.pos
        # a small window and memLevel: zlib.compress's defaults allocate and
        # clear 256 kB per call, 50 us, more than compressing a commit takes
        c = compressobj(level if len(data) <= BIG else 0, DEFLATED, 12, 2)
        z = c.compress(data) + c.flush()
        self.f.write(head)
        self.f.write(z)
        self.pos += len(head) + len(z)
        self.count += 1
        return off

    def whole(self, kind: int, data: bytes, level: int | None = None) -> int:
        """Write an object; returns its offset in the pack."""
        return self._put(_obj_header(kind, len(data)), data, self.level if level is None else level)

    def delta(self, base_offset: int, delta: bytes, level: int = 0) -> int:
        """Write an OFS_DELTA against the object at ``base_offset``. Level 0
        by default: a delta of a tree is mostly an object id, and deflating
        it gains a few bytes for the planner's biggest cost."""
        off = self.pos
        return self._put(_obj_header(OBJ_OFS_DELTA, len(delta)) + _ofs(off - base_offset), delta, level)

    def close(self) -> None:
        self.f.seek(8)
        self.f.write(self.count.to_bytes(4, "big"))
        self.f.close()
        h = hashlib.sha1()
        with open(self.path, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        with open(self.path, "ab") as f:
            f.write(h.digest())

    def install(self, threads: int = 1, strict: bool = True) -> str:
        """close(), index the pack with ``git index-pack``, and give both
        files their final names. Returns the pack's name (its checksum).

        index-pack computes every object id itself, from the inflated and
        delta-resolved contents; ``strict`` also fsck-checks every object and
        that every object it names exists (2.5 times slower on trees)."""
        self.close()
        idx = self.path.with_suffix(".idx")
        p = subprocess.run(
            ["git", "index-pack", *(["--strict"] if strict else []), f"--threads={threads}", "-o", str(idx), str(self.path)],
            cwd=self.gitdir,
            capture_output=True,
            text=True,
        )
        if p.returncode != 0:
            raise RuntimeError(f"git index-pack {self.path}: {p.stderr.strip() or p.stdout.strip()}")
        name = p.stdout.split()[-1]
        final = self.gitdir / "objects" / "pack" / f"pack-{name}"
        os.rename(self.path, final.with_suffix(".pack"))
        os.rename(idx, final.with_suffix(".idx"))
        return name


def object_id(kind: bytes, data: bytes) -> bytes:
    h = hashlib.sha1(b"%s %d\0" % (kind, len(data)))
    h.update(data)
    return h.digest()


def _splice(pieces: list, off: int, oldlen: int, new: bytes) -> list:
    """Replace [off, off+oldlen) of the target a piece list describes by ``new``."""
    out, pos, end = [], 0, off + oldlen
    placed = False
    for p in pieces:
        n = p[1] if isinstance(p, tuple) else len(p)
        a, b = pos, pos + n
        pos = b
        if b <= off or a >= end:
            if a >= end and not placed:
                out.append(new)
                placed = True
            if n:
                out.append(p)
            continue
        # overlaps the replaced span: keep the parts outside it
        if a < off:
            k = off - a
            out.append((p[0], k) if isinstance(p, tuple) else p[:k])
        if not placed:
            out.append(new)
            placed = True
        if b > end:
            k = end - a
            out.append((p[0] + k, n - k) if isinstance(p, tuple) else p[k:])
    if not placed:
        out.append(new)
    return out


class Dir:
    """One version of a tree. ``kids`` maps names to the Dir of each subtree
    that is itself edited (None for a directory whose subtrees are rebuilt
    whole); ``base``/``pieces`` describe it as a delta against an already
    written version; ``fresh`` holds its subtrees not yet written."""

    __slots__ = ("raw", "oid", "kids", "base", "pieces", "fresh", "offset", "depth")

    def __init__(self, raw: bytes, kids: dict | None = None, base: "Dir | None" = None, pieces=None, fresh=None):
        self.raw = raw
        self.oid = object_id(b"tree", raw)
        self.kids = kids
        self.base = base
        self.pieces = pieces
        self.fresh = fresh
        self.offset = -1  # -1: not written yet
        self.depth = 0

    @property
    def hex(self) -> str:
        return self.oid.hex()


class TreeStore:
    """Builds tree versions along one path at a time and writes the new ones.

    Entries are found in a tree's raw bytes by ``raw.find(mode + b" " + name
    + b"\\0")``; the mode and the NUL delimit the name, and a false match
    inside a 20-byte object id would need that many bytes (at least 11
    here) to occur by chance. For a new name, the insertion point is the
    first later name of the same directory (``universe``: every name ever
    placed in that directory, in git's order) present in this version.
    """

    def __init__(self, pack: PackWriter, recent_limit: int = 2_000_000):
        self.pack = pack
        self.universe: dict[tuple, list[bytes]] = {}
        self.recent: dict[bytes, int] = {}  # tree id -> offset * 64 + depth, of recently written trees
        self.older: dict[bytes, int] = {}
        self.recent_limit = recent_limit
        self.written = 0
        self.deduplicated = 0

    def _derive(self, d: Dir | None, where: tuple, name: bytes, child: Dir, track: bool) -> Dir:
        """A new version of ``d`` (None: an empty tree) with subtree ``name``
        set to ``child``; ``track`` keeps the child reachable in ``kids``."""
        prefix = MODE_DIR + name + b"\0"
        entry = prefix + child.oid
        if d is None:
            self.universe.setdefault(where, []).append(name + b"/")
            return Dir(entry, {name: child} if track else None, fresh={name: child})
        raw = d.raw
        off = raw.find(prefix)
        if off >= 0:
            oldlen = len(prefix) + 20
        else:
            oldlen = 0
            key = name + b"/"  # git sorts a directory as if its name ended in "/"
            names = self.universe.setdefault(where, [])
            i = bisect_left(names, key)
            if i == len(names) or names[i] != key:
                names.insert(i, key)
            off = len(raw)
            for later in names[i + 1 :]:
                p = raw.find(MODE_DIR + later[:-1] + b"\0")
                if p >= 0:
                    off = p
                    break
        new_raw = raw[:off] + entry + raw[off + oldlen :]
        if d.offset >= 0:
            base = d
            rest = len(raw) - off - oldlen
            pieces = [(0, off)] if off else []
            pieces.append(entry)
            if rest:
                pieces.append((off + oldlen, rest))
            fresh = {}
        else:
            base = d.base
            pieces = _splice(d.pieces, off, oldlen, entry) if base is not None else None
            fresh = dict(d.fresh) if d.fresh else {}
        fresh[name] = child
        kids = None
        if d.kids is not None:
            kids = dict(d.kids)
            kids[name] = child
        return Dir(new_raw, kids, base, pieces, fresh)

    def set_file(self, root: Dir | None, dirs: list[bytes], leaf_dir: bytes, filename: bytes, blob: bytes) -> Dir:
        """A new root: ``dirs/leaf_dir/filename`` set to ``blob``. The leaf
        directory is rebuilt holding only that file (a package directory
        holds only package.nix), and is not tracked in its parent's ``kids``
        (thousands of them); the directories above it are edited."""
        node = Dir(MODE_FILE + filename + b"\0" + blob)
        chain = [root]
        for n in dirs:
            parent = chain[-1]
            chain.append(parent.kids.get(n) if parent is not None else None)
        node = self._derive(chain[-1], tuple(dirs), leaf_dir, node, track=False)
        for depth in range(len(dirs) - 1, -1, -1):
            node = self._derive(chain[depth], tuple(dirs[:depth]), dirs[depth], node, track=True)
        return node

    def _seen(self, oid: bytes) -> int | None:
        v = self.recent.get(oid)
        return self.older.get(oid) if v is None else v

    def write(self, d: Dir) -> None:
        """Write ``d`` and its subtrees not written yet (depth first)."""
        if d.offset >= 0:
            return
        seen = self._seen(d.oid)
        if seen is not None:
            d.offset, d.depth = seen >> 6, seen & 63
            d.base = d.pieces = d.fresh = None
            self.deduplicated += 1
            return
        if d.fresh:
            for kid in d.fresh.values():
                self.write(kid)
        pack, base = self.pack, d.base
        if base is not None and base.depth < MAX_DEPTH and len(d.raw) > 256:
            delta = encode_delta(len(base.raw), len(d.raw), d.pieces)
            if len(delta) < len(d.raw) // 2:
                d.offset = pack.delta(base.offset, delta)
                d.depth = base.depth + 1
        if d.offset < 0:
            d.offset = pack.whole(OBJ_TREE, d.raw, 0)  # object ids: deflate gains little
            d.depth = 0
        d.base = d.pieces = d.fresh = None
        self.written += 1
        self.recent[d.oid] = d.offset * 64 + d.depth
        if len(self.recent) >= self.recent_limit:
            self.older, self.recent = self.recent, {}
