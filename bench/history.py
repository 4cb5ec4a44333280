"""The commit history of bench/generate.py, made by two processes into two packs.

A commit's id hashes its parent's id, and so its parent's signature: the
signatures form one chain and cannot be made in parallel. Everything else
can, so the work is split in two processes, one per core:

  planner (forked child)  picks every change, signer and date from the
                          seeded RNG, writes the blobs and trees into one
                          pack, and sends each commit's template (tree id,
                          parent numbers, idents, message, signer) down a pipe;
  signer  (this process)  turns templates into commit objects in order,
                          signing each one, and writes them into another pack.

Both packs are checked and indexed by ``git index-pack --strict``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
import time
import traceback
from dataclasses import dataclass, field

from fastpack import OBJ_BLOB, OBJ_COMMIT, MAX_DEPTH, PackWriter, TreeStore, common_affixes, encode_delta, object_id

BATCH = 2000  # templates per message on the pipe


@dataclass
class Plan:
    """Everything the planner needs; made before the fork."""

    n_commits: int
    n_packages: int
    seed: int
    counts: dict
    people: list  # generate.Person
    ssh_ids: dict  # (person index, key index) -> signer number
    pgp_ids: dict  # person index -> signer number
    forge_id: int
    forge_ident: tuple  # (name, email)
    kinds: tuple  # kind names, in the order of their codes
    content: object  # module with the package helpers (generate)
    rng_state: object = None
    stats: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# planner
# --------------------------------------------------------------------------


def _plan_history(plan: Plan, pack: PackWriter, emit) -> dict:
    """The history of the old single-process generator, step for step with
    the same RNG calls; commits go to ``emit`` as templates."""
    g = plan.content
    rng = random.Random()
    rng.setstate(plan.rng_state)
    people, counts, n_commits = plan.people, plan.counts, plan.n_commits
    K_SSH, K_PGP_ED, K_PGP_RSA, K_FORGE, K_UNSIGNED = plan.kinds
    code = {k: i for i, k in enumerate(plan.kinds)}
    trees = TreeStore(pack)

    n_merges = counts[K_FORGE]
    n_plain = n_commits - n_merges
    kinds = [K_SSH] * counts[K_SSH] + [K_PGP_ED] * counts[K_PGP_ED] + [K_PGP_RSA] * counts[K_PGP_RSA]
    kinds += [K_UNSIGNED] * counts[K_UNSIGNED]
    rng.shuffle(kinds)

    pr_sizes = [rng.choice((1, 1, 1, 2, 2, 3, 4)) for _ in range(n_merges)]
    while sum(pr_sizes) > n_plain - 1:
        i = max(range(len(pr_sizes)), key=pr_sizes.__getitem__)
        if pr_sizes[i] == 1:
            raise SystemExit("generate.py: too few commits for the merge share")
        pr_sizes[i] -= 1
    units = ["pr"] * n_merges + ["direct"] * (n_plain - sum(pr_sizes))
    rng.shuffle(units)
    if units[0] != "direct":  # the root commit is a direct push
        j = units.index("direct")
        units[0], units[j] = units[j], units[0]

    index = {id(p): i for i, p in enumerate(people)}
    by_kind = {
        K_SSH: [p for p in people if p.ssh and p.pgp is None],
        K_PGP_ED: [p for p in people if p.pgp_kind == K_PGP_ED],
        K_PGP_RSA: [p for p in people if p.pgp_kind == K_PGP_RSA],
        K_UNSIGNED: people,
    }
    weights = {k: [p.weight for p in v] for k, v in by_kind.items()}
    handles = [p.id for p in people]

    names = g.package_names(rng, plan.n_packages)
    owners = g.package_names(random.Random(plan.seed + 1), 300)
    pkgs: dict = {}
    blobs: dict[str, tuple[bytes, int, int]] = {}  # name -> (data, offset, depth) of its newest blob
    to_init = list(names)
    rng.shuffle(to_init)

    avg_gap = 420
    gaps = [rng.randint(20, 2 * avg_gap - 20) for _ in range(n_commits)]
    clock = int(time.time()) - 60 - sum(gaps)
    gap_iter = iter(gaps)
    kind_iter = iter(kinds)
    remaining_plain = n_plain
    name_list: list[str] = []
    made = 0
    top = (b"pkgs", b"by-name")

    def write_blob(name: str, data: bytes) -> bytes:
        prev = blobs.get(name)
        offset = -1
        depth = 0
        if prev is not None and prev[2] < MAX_DEPTH:
            old = prev[0]
            p, s = common_affixes(old, data)
            pieces = [(0, p)] if p else []
            if len(data) - p - s:
                pieces.append(data[p : len(data) - s])
            if s:
                pieces.append((len(old) - s, s))
            delta = encode_delta(len(old), len(data), pieces)
            if len(delta) < len(data) // 2:
                offset, depth = pack.delta(prev[1], delta, level=1), prev[2] + 1
        if offset < 0:
            offset = pack.whole(OBJ_BLOB, data)
        blobs[name] = (data, offset, depth)
        return object_id(b"blob", data)

    def change():
        nonlocal remaining_plain
        if to_init and (not pkgs or rng.random() < len(to_init) / remaining_plain):
            name = to_init.pop()
            url = rng.choice(g._URLS).replace("@OWNER@", rng.choice(owners)).replace("@N1@", name[0])
            p = g.Package(
                name,
                (rng.randint(0, 3), rng.randint(0, 20), rng.randint(0, 9)),
                url,
                rng.sample(handles, rng.choice((1, 1, 2, 3))),
                rng.choice(g._DESC).replace("{n}", name),
                rng.choice(g._LICENSES),
            )
            pkgs[name] = p
            name_list.append(name)  # list(pkgs), kept up to date
            title = f"{name}: init at {p.vstr}"
        else:
            p = pkgs[rng.choice(name_list)]
            old = p.vstr
            p.version = g.bump(rng, p.version)
            title = f"{p.name}: {old} -> {p.vstr}"
        remaining_plain -= 1
        blob = write_blob(p.name, p.render().encode())
        return (g.shard(p.name).encode(), p.name.encode(), blob), title

    def apply(root, ch):
        shard, name, blob = ch
        return trees.set_file(root, [*top, shard], name, b"package.nix", blob)

    def plain_commit(root, parents):
        nonlocal clock, made
        ch, title = change()
        new_root = apply(root, ch)
        trees.write(new_root)
        kind = next(kind_iter)
        p = rng.choices(by_kind[kind], weights[kind])[0]
        clock += next(gap_iter)
        who = g.ident(p.name, p.email, clock, p.tz)
        if kind == K_SSH:
            k = 0 if len(p.ssh) == 1 or rng.random() < 0.7 else 1
            signer = plan.ssh_ids[(index[id(p)], k)]
        elif kind in (K_PGP_ED, K_PGP_RSA):
            signer = plan.pgp_ids[index[id(p)]]
        else:
            signer = -1
        emit((new_root.hex, parents, who, who, title + "\n", signer, code[kind]))
        made += 1
        return made - 1, new_root, ch, title, p

    mainline: list = []  # (commit number, root Dir) along first parents
    pr_no = 1000
    forge_name, forge_email = plan.forge_ident
    for u in units:
        if u == "direct":
            parents = (mainline[-1][0],) if mainline else ()
            root = mainline[-1][1] if mainline else None
            num, new_root, _, _, _ = plain_commit(root, parents)
            mainline.append((num, new_root))
        else:
            size = pr_sizes.pop()
            back = min(rng.choice((0, 0, 0, 1, 2, 3, 5)), len(mainline) - 1)
            tip, tip_root = mainline[-1 - back]
            changes = []
            for _ in range(size):
                tip, tip_root, ch, title, p = plain_commit(tip_root, (tip,))
                changes.append((ch, title, p))
            merged = mainline[-1][1]
            for ch, _, _ in changes:
                merged = apply(merged, ch)
            trees.write(merged)
            author = changes[-1][2]
            merger = rng.choices(people, [p.weight for p in people])[0]
            pr_no += rng.randint(1, 40)
            clock += next(gap_iter)
            first = changes[0][1]
            msg = f"Merge pull request #{pr_no} from {author.id}/{first.split(':')[0]}\n\n{first}\n"
            emit(
                (
                    merged.hex,
                    (mainline[-1][0], tip),
                    g.ident(merger.name, merger.email, clock, merger.tz),
                    g.ident(forge_name, forge_email, clock, "+0000"),
                    msg,
                    plan.forge_id,
                    code[K_FORGE],
                )
            )
            made += 1
            mainline.append((made - 1, merged))
        if len(mainline) > 64:
            del mainline[:-16]
    if made != n_commits:
        raise RuntimeError(f"planned {made} commits, expected {n_commits}")
    return {"packages": len(pkgs), "trees_written": trees.written, "trees_deduplicated": trees.deduplicated}


def _planner(plan: Plan, gitdir, conn) -> None:
    try:
        t0 = time.perf_counter()
        pack = PackWriter(gitdir, "trees")
        batch: list = []

        def emit(template):
            batch.append(template)
            if len(batch) >= BATCH:
                conn.send(batch[:])
                batch.clear()

        stats = _plan_history(plan, pack, emit)
        conn.send(batch)
        conn.send(None)
        stats["plan_seconds"] = time.perf_counter() - t0
        t = time.perf_counter()
        stats["objects"] = pack.count
        # not --strict: fsck-checking millions of big trees would double the
        # time; the commits' pack is, and its check that every commit's tree
        # exists, with the checkout of the head, catches a wrong tree id
        stats["pack"] = pack.install(threads=2, strict=False)
        stats["pack_bytes"] = pack.pos + 20
        stats["index_seconds"] = time.perf_counter() - t
        conn.send(("ok", stats))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which exits
        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    finally:
        conn.close()


# --------------------------------------------------------------------------
# signer
# --------------------------------------------------------------------------


def build(plan: Plan, signers: list, gitdir) -> dict:
    """Run the planner in a child process and sign its commits here.

    Returns the commit ids by kind, the head, and statistics."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_planner, args=(plan, gitdir, send), name="generate-planner")
    child.start()
    send.close()

    pack = PackWriter(gitdir, "commits")
    oids: list[str] = []
    by_kind: list[list[str]] = [[] for _ in plan.kinds]
    sha1 = hashlib.sha1
    whole = pack.whole
    t0 = time.perf_counter()
    waited = 0.0
    while True:
        t = time.perf_counter()
        try:
            batch = recv.recv()
        except EOFError:
            batch = ("error", "the planner process died")
        waited += time.perf_counter() - t
        if batch is None or isinstance(batch, tuple):
            break
        for tree, parents, author, committer, message, signer, kind in batch:
            head = f"tree {tree}\n" + "".join(f"parent {oids[i]}\n" for i in parents)
            head += f"author {author}\ncommitter {committer}\n"
            body = "\n" + message
            if signer < 0:
                data = (head + body).encode()
            else:
                sig = signers[signer]((head + body).encode())
                data = (head + "gpgsig " + sig.rstrip("\n").replace("\n", "\n ") + "\n" + body).encode()
            h = sha1(b"commit %d\0" % len(data))
            h.update(data)
            oid = h.hexdigest()
            whole(OBJ_COMMIT, data)
            oids.append(oid)
            by_kind[kind].append(oid)
    sign_seconds = time.perf_counter() - t0
    status = batch if isinstance(batch, tuple) else recv.recv()
    child.join()
    if status[0] != "ok":
        raise SystemExit(f"generate.py: the planner failed: {status[1]}")
    stats = dict(status[1])
    t = time.perf_counter()
    stats["commit_pack"] = pack.install(threads=2)
    stats["commit_pack_bytes"] = pack.pos + 20
    stats["commit_index_seconds"] = time.perf_counter() - t
    stats["sign_seconds"] = sign_seconds
    stats["signer_waited_seconds"] = waited
    if len(oids) != plan.n_commits:
        raise SystemExit(f"generate.py: made {len(oids)} commits, expected {plan.n_commits}")
    return {"head": oids[-1], "by_kind": dict(zip(plan.kinds, by_kind)), "stats": stats}
