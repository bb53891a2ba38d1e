"""Workspaces and their datasets: the built-ins, and uploads (a zip of a native or ETO folder,
unpacked safely, validated with every problem's file, line and column, kept as immutable
versions identified by the SHA-256 of their files)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from coreatlas.errors import (
    CoreAtlasError,
    DataSourceError,
    ForbiddenError,
    LimitError,
    NotFoundError,
    Problem,
    RequestError,
    ValidationError,
)
from coreatlas.io import datasets as builtin
from coreatlas.io.eto import read_eto
from coreatlas.io.native import read_native
from coreatlas.io.output import plain
from coreatlas.model.techmap import LINE
from coreatlas.services.server.auth import check_name
from coreatlas.services.server.base import Caller, Page, ServerBase, WorkspaceRef, forgets, paginate
from coreatlas.store.models import Dataset, DatasetVersion, Organisation, Workspace, WorkspaceShare

__all__ = ["LIMITS", "PATH_FIELDS", "DatasetMixin", "unpack_zip"]

#: Upload limits: the archive, the members, each member and all of them unpacked.
LIMITS = {"upload_bytes": 50 * 2**20, "members": 64, "member_bytes": 100 * 2**20, "unpacked_bytes": 200 * 2**20}
ALLOWED_SUFFIXES = (".csv", ".yaml", ".yml", ".txt", ".md")
#: Request fields that name files or folders: the server reads none named in a request.
PATH_FIELDS = (
    "network_dir",
    "scenario_file",
    "hazards_file",
    "measures_file",
    "table",
    "links",
    "final_demand",
    "sectors",
    "shocks",
    "out",
)


def unpack_zip(data: bytes, target: Path, limits: dict = LIMITS) -> dict[str, bytes]:
    """Unpack a dataset archive into ``target``: flat, regular files with known suffixes only, within
    the limits; one top folder is allowed (a zipped folder). Returns each file's bytes by name."""
    if len(data) > limits["upload_bytes"]:
        raise LimitError(f"file: the archive has {len(data)} bytes; at most {limits['upload_bytes']} are accepted", field="file")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationError(Problem("not a zip archive", file="(upload)"), field="file") from None
    if len(infos) > limits["members"]:
        raise LimitError(f"file: the archive has {len(infos)} files; at most {limits['members']} are accepted", field="file")
    problems, names = [], {}
    tops = {PurePosixPath(i.filename).parts[0] for i in infos if len(PurePosixPath(i.filename).parts) > 1}
    strip = len(tops) == 1 and all(len(PurePosixPath(i.filename).parts) > 1 for i in infos)
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        mode = info.external_attr >> 16
        if name.startswith("/") or "\\" in name or ".." in parts or ":" in name or "\x00" in name:
            problems.append(Problem("a path outside the dataset folder is refused", file=name))
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            problems.append(Problem("only regular files are accepted (no links or devices)", file=name))
        elif info.flag_bits & 0x1:
            problems.append(Problem("encrypted members are refused", file=name))
        elif len(parts) - strip != 1:
            problems.append(Problem("a dataset is one flat folder of files; sub-folders are refused", file=name))
        elif not parts[-1].lower().endswith(ALLOWED_SUFFIXES) or parts[-1].startswith("."):
            problems.append(Problem(f"unexpected file; a dataset holds {', '.join(ALLOWED_SUFFIXES)} files", file=name))
        elif parts[-1] in names:
            problems.append(Problem("the same file twice", file=name))
        else:
            names[parts[-1]] = info
    if problems:
        raise ValidationError(problems, field="file")
    contents, total = {}, 0
    for short, info in sorted(names.items()):
        if info.file_size > limits["member_bytes"]:
            raise LimitError(f"file: {short} unpacks to {info.file_size} bytes; at most {limits['member_bytes']} per file", field="file")
        try:
            with archive.open(info) as member:
                body = member.read(limits["member_bytes"] + 1)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError) as exc:
            raise ValidationError(Problem(f"cannot be unpacked: {exc}", file=short), field="file") from None
        total += len(body)
        if len(body) > limits["member_bytes"] or total > limits["unpacked_bytes"]:
            raise LimitError(f"file: the archive unpacks to more than {limits['unpacked_bytes']} bytes (or a file to more than "
                             f"{limits['member_bytes']})", field="file")  # fmt: skip
        contents[short] = body
    target.mkdir(parents=True, exist_ok=True)
    for short, body in contents.items():
        (target / short).write_bytes(body)
    return contents


def _relative(problems: list[Problem], folder: Path) -> list[Problem]:
    out = []
    for p in problems:
        file = p.file
        if file:
            with contextlib.suppress(ValueError):
                file = Path(file).resolve().relative_to(folder.resolve()).as_posix()
        out.append(
            Problem(
                p.message.replace(str(folder) + os.sep, "").replace(str(folder), "."), p.table, p.line, p.column, file, p.severity, p.field
            )
        )
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
    return plain(frame.drop(columns=[LINE], errors="ignore").astype(object).where(frame.drop(columns=[LINE], errors="ignore").notna(), None)
                 .to_dict("records"))  # fmt: skip


def _files_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


class DatasetMixin(ServerBase):
    # ---- workspaces -------------------------------------------------------------------------
    def list_workspaces(self, caller: Caller, page: Page | None = None) -> dict:
        with self.db.read() as session:
            visible = sa.select(WorkspaceShare.workspace_id).where(WorkspaceShare.org_id.in_(caller.org_ids))
            query = sa.select(Workspace).where(Workspace.id.in_(visible)).order_by(Workspace.name)
            orgs = dict(session.execute(sa.select(Organisation.id, Organisation.name)).all())
            return paginate(session, query, page, lambda w: {"id": w.id, "name": w.name, "owner_org": orgs.get(w.owner_org_id),
                                                             "role": self._role_in(session, caller, w.id), "description": w.description,
                                                             "created_at": w.created_at.isoformat()})  # fmt: skip

    def workspace_role(self, caller: Caller, ws: str) -> str:
        """The caller's role in ``ws``; :class:`NotFoundError` if the caller cannot see it."""
        with self.db.read() as session:
            return self._workspace(session, caller, ws)[1]

    def get_workspace(self, caller: Caller, ws: str) -> dict:
        with self.db.read() as session:
            w, role = self._workspace(session, caller, ws)
            org = session.get(Organisation, w.owner_org_id)
            return {
                "id": w.id,
                "name": w.name,
                "owner_org": org.name,
                "role": role,
                "description": w.description,
                "created_at": w.created_at.isoformat(),
            }

    # ---- datasets -----------------------------------------------------------------------------
    def _add_builtins(self, session: Session, ws: Workspace) -> None:
        for name in builtin.builtin_names():
            ds = Dataset(workspace_id=ws.id, name=name, kind="builtin")
            session.add(ds)
            session.flush()
            folder = builtin.builtin_path(name)
            files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
            session.add(DatasetVersion(dataset_id=ds.id, number=1, content_hash=_files_hash(files), format="native", path=None,
                                       size=sum(map(len, files.values())), summary={}))  # fmt: skip

    def _dataset(self, session: Session, ws: Workspace, ref: str) -> Dataset:
        ds = session.scalars(
            sa.select(Dataset).where(Dataset.workspace_id == ws.id, sa.or_(Dataset.id == ref, Dataset.name == ref))
        ).first()
        if ds is None:
            raise NotFoundError(f"dataset '{ref}' not found in workspace '{ws.name}'", field="dataset")
        return ds

    def _latest(self, session: Session, ds: Dataset) -> DatasetVersion:
        return session.scalars(
            sa.select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id).order_by(DatasetVersion.number.desc())
        ).first()

    def _ref(self, ds: Dataset, version: DatasetVersion) -> str:
        return ds.name if ds.kind == "builtin" else str(Path(self.data_dir) / version.path)

    def _dataset_dict(self, session: Session, ds: Dataset) -> dict:
        versions = session.scalars(
            sa.select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id).order_by(DatasetVersion.number)
        ).all()
        return {"id": ds.id, "name": ds.name, "kind": ds.kind, "created_at": ds.created_at.isoformat(),
                "versions": [{"number": v.number, "content_hash": v.content_hash, "format": v.format, "size": v.size, "summary": v.summary,
                              "created_at": v.created_at.isoformat()} for v in versions]}  # fmt: skip

    def list_datasets(self, caller: Caller, ws: str, page: Page | None = None) -> dict:
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            query = sa.select(Dataset).where(Dataset.workspace_id == w.id).order_by(Dataset.kind, Dataset.name)
            return paginate(session, query, page, lambda d: self._dataset_dict(session, d))

    def dataset_map_ref(self, caller: Caller, ws: str, ds: str) -> str:
        """What to put in a request's ``data``: a built-in's name, or an upload's folder on the server."""
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            dataset = self._dataset(session, w, ds)
            return self._ref(dataset, self._latest(session, dataset))

    def get_dataset(self, caller: Caller, ws: str, ds: str) -> dict:
        """A dataset with its versions, nodes, providers and sources."""
        from coreatlas.services.inputs import load_map  # noqa: PLC0415 - the engines load on first use

        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            dataset = self._dataset(session, w, ds)
            out = self._dataset_dict(session, dataset)
            ref = self._ref(dataset, self._latest(session, dataset))
        tm = load_map(ref)
        meta = tm.meta
        out.update({"title": meta.title, "version": meta.version, "licence": meta.licence, "description": meta.description,
                    "nodes": _records(tm.nodes), "providers": _records(tm.providers),
                    "sources": [{"id": s.id, "title": s.title, "url": s.url, "year": s.year} for s in meta.sources]})  # fmt: skip
        self._audit_later(caller, "read", "dataset", out["id"], w.id, name=out["name"])
        return out

    @forgets
    def upload_dataset(self, caller: Caller, ws: str, name: str, zip_bytes: bytes) -> dict:
        """Add a version to dataset ``name`` (created if new) from a zip of native or ETO CSVs.
        Problems raise :class:`ValidationError` with each file, line and column."""
        check_name(name, "dataset")
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write")
            existing = session.scalars(sa.select(Dataset).where(Dataset.workspace_id == w.id, Dataset.name == name)).first()
            if existing is not None and existing.kind == "builtin":
                raise RequestError(f"name: '{name}' is a built-in dataset; choose another name", field="name")
        staging_root = Path(self.data_dir) / "tmp"
        staging_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="upload-", dir=staging_root))
        try:
            files = unpack_zip(zip_bytes, staging / "data")
            folder = staging / "data"
            try:
                fmt = builtin.detect_format(folder)
            except DataSourceError:
                raise ValidationError(Problem("cannot tell the data format: expected metadata.yaml (native format) or inputs.csv, provision.csv "
                                              "and sequence.csv (ETO format)", file="(archive)"), field="file") from None  # fmt: skip
            try:
                tm = read_eto(folder) if fmt == "eto" else read_native(folder)
            except ValidationError as exc:
                raise ValidationError(_relative(exc.problems, folder), field="file") from None
            except CoreAtlasError as exc:
                raise ValidationError(_relative([Problem(str(exc))], folder), field="file") from None
            content = _files_hash(files)
            summary = {"nodes": len(tm.nodes), "providers": len(tm.providers), "provision": len(tm.provision), "relations": len(tm.relations),
                       "title": tm.meta.title, "version": tm.meta.version}  # fmt: skip
            final = Path(self.data_dir) / "datasets" / content
            if not final.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(OSError):  # another upload of the same content got there first
                    os.replace(folder, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write", lock=True)
            dataset = session.scalars(sa.select(Dataset).where(Dataset.workspace_id == w.id, Dataset.name == name)).first()
            if dataset is None:
                dataset = Dataset(workspace_id=w.id, name=name, kind="upload", created_by=caller.user_id or None)
                session.add(dataset)
                session.flush()
            same = session.scalars(
                sa.select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.content_hash == content)
            ).first()
            if same is None:
                number = (
                    session.scalar(sa.select(sa.func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id)) or 0
                ) + 1
                session.add(DatasetVersion(dataset_id=dataset.id, number=number, content_hash=content, format=fmt, path=f"datasets/{content}",
                                           size=sum(map(len, files.values())), summary=summary, created_by=caller.user_id or None))  # fmt: skip
                session.flush()
            self._audit(
                session, caller, "change", "dataset", dataset.id, w.id, name=name, content_hash=content, format=fmt, change="upload"
            )
            return self._dataset_dict(session, dataset)

    # ---- requests on the server ----------------------------------------------------------------------
    def _current(self, session: Session | None, ws: Workspace | WorkspaceRef, ref: str) -> DatasetRef:
        """Dataset ``ref`` of ``ws`` and its latest version; without a session, kept for ``cache_seconds``."""
        if session is not None:
            ds = self._dataset(session, ws, ref)
            version = self._latest(session, ds)
            return DatasetRef(ds.id, ds.name, self._ref(ds, version), version.content_hash)
        hit = self.current_datasets.get((ws.id, ref))
        if hit is None:
            with self.db.read() as fresh:
                hit = self.current_datasets.put((ws.id, ref), self._current(fresh, ws, ref))
        return hit

    def _resolve_request(
        self, session: Session | None, ws: Workspace | WorkspaceRef, request: dict, dataset: str | None = None
    ) -> tuple[dict, dict, DatasetRef | None]:
        """``(request as run, request as shown, first dataset)``: ``data`` names datasets of the
        workspace (``a+b`` too), replaced by their references (a built-in's name, an upload's
        content-hash folder); no field may name a server file. Without a session the datasets'
        current versions come from the cache."""
        if not isinstance(request, dict):
            raise RequestError("request: must be an object", field="request")
        for name in PATH_FIELDS:
            if isinstance(request.get(name), str):
                raise ForbiddenError(f"{name}: the server reads no file named in a request; upload the data as a dataset", field=name)
        run, shown, first = dict(request), dict(request), None
        value = dataset if dataset is not None else request.get("data")
        if isinstance(value, str) and value:
            parts = [self._current(session, ws, part.strip()) for part in value.split("+")]
            first = parts[0]
            run["data"], shown["data"] = "+".join(p.ref for p in parts), value
        elif value is not None:
            raise RequestError("data: must name a dataset of the workspace", field="data")
        return run, shown, first


@dataclass(frozen=True)
class DatasetRef:
    """A dataset's current version as a request uses it: ``ref`` goes into the request's ``data``."""

    id: str
    name: str
    ref: str
    content_hash: str
