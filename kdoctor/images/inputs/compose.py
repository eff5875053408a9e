"""Images in Compose files, as the Compose Specification loads them.

Interpolation from the process environment, then the `.env` beside the entry file (or the `--env-file`s,
which replace it), per file before merging; `extends` (same file, or `file:` relative to the file that names
it); `include` (short and long form, each with its own project directory and env file). A service with only
`build:` is noted, not looked up. Sources: https://docs.docker.com/reference/compose-file/ (interpolation,
services#extends, include) and https://docs.docker.com/compose/how-tos/environment-variables/envvars-precedence/.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdoctor.errors import InputError
from kdoctor.images.inputs.interpolate import Issues, interpolate, interpolate_tree, read_env_files
from kdoctor.images.inputs.kube import TEMPLATE_HINT, scalars
from kdoctor.images.inputs.uses import ImageUse, Origin, Skipped, SourceReport, SourceWarning
from kdoctor.images.inputs.yamlload import decode, load_documents, located

MAX_DEPTH = 10  # extends/include chains deeper than this are cycles or mistakes


def split_command(value: str) -> tuple[list[str], str | None]:
    """Shell-style words of a Compose string `command`/`entrypoint`; never raises (an unbalanced quote
    falls back to whitespace words, with the reason)."""
    try:
        return shlex.split(value), None
    except ValueError as exc:
        return value.split(), f"{exc} in {value!r}: split on whitespace instead"


# pull_policy values under which a service with `build:` is built, never pulled: "build" always builds, "never"
# uses the local image only (https://docs.docker.com/reference/compose-file/services/#pull_policy).
LOCAL_BUILD_POLICIES = ("build", "never")


@dataclass
class Project:
    """One Compose file being loaded, with the variables it is interpolated with."""

    path: Path
    variables: Mapping[str, str]
    prefix: str = ""  # "include[0] (../compose.yaml) -> " for an included file

    def lookup(self, name: str) -> str | None:
        return self.variables.get(name)


@dataclass
class ComposeLoader:
    entry: str  # the file as the user named it: every use is attributed to it
    environ: Mapping[str, str]
    env_files: list[Path] | None
    report: SourceReport
    _docs: dict[Path, Any] = field(default_factory=dict)

    def warn(self, where: str, message: str, variable: str | None = None) -> None:
        self.report.warnings.append(SourceWarning(self.entry, where, message, variable))

    def variables(self, env_files: list[Path], where: str) -> dict[str, str]:
        """The process environment wins over env files (Compose's precedence)."""
        present = [p for p in env_files if p.is_file()]
        try:
            dotenv = read_env_files(present, self.environ)
        except (OSError, UnicodeDecodeError) as exc:
            self.warn(where, f"env file not read: {exc}")
            dotenv = {}
        return {**dotenv, **self.environ}

    def document(self, path: Path) -> Any:
        if path not in self._docs:
            try:
                docs = load_documents(decode(path.read_bytes(), str(path)), str(path))
            except InputError as exc:
                self.warn(str(path), str(exc))
                docs = []
            except OSError as exc:
                self.warn(str(path), f"cannot read: {exc.strerror or exc}")
                docs = []
            self._docs[path] = docs[0] if docs and isinstance(docs[0], dict) else {}
        return self._docs[path]

    # -- loading ------------------------------------------------------------------------------------
    def load(self, doc: dict[str, Any], path: Path) -> None:
        env = self.env_files if self.env_files is not None else [path.parent / ".env"]
        project = Project(path, self.variables(env, str(path)))
        self._docs[path.resolve()] = doc
        self.project(project, doc, 0)

    def project(self, p: Project, doc: dict[str, Any], depth: int) -> None:
        def report(where: str, issues: Issues) -> None:
            for var, msg in issues.required:
                self.warn(f"{p.prefix}{where}", f"required variable {var} is unset: {msg}", var)
            for msg in issues.invalid:
                self.warn(f"{p.prefix}{where}", msg)
            for var in issues.unset:
                self.warn(f"{p.prefix}{where}", f"{var} is unset and has no default: Compose substitutes ''")

        interpolate_tree(doc, p.lookup, report)
        services = doc.get("services")
        if isinstance(services, dict):
            for name in services:
                merged, via = self.extended(p, p.path, services, str(name), [])
                self.service(p, str(name), merged, via)
        includes = doc.get("include")
        for i, entry in enumerate(includes if isinstance(includes, list) else []):
            self.include(p, i, entry, depth)

    def include(self, parent: Project, i: int, entry: Any, depth: int) -> None:
        where = f"{parent.prefix}include[{i}]"
        spec = {"path": entry} if isinstance(entry, str) else entry if isinstance(entry, dict) else {}
        raw_paths = spec.get("path")
        paths = [raw_paths] if isinstance(raw_paths, str) else raw_paths if isinstance(raw_paths, list) else []
        base = parent.path.parent
        files = [base / interpolate(str(x), parent.lookup, Issues()) for x in paths]
        if not files or depth >= MAX_DEPTH:
            self.warn(where, "include entry with no path, or includes nested too deeply: skipped")
            return
        pdir = spec.get("project_directory")
        project_dir = base / str(pdir) if isinstance(pdir, str) else files[0].parent
        ef = spec.get("env_file")
        env_files = [base / str(x) for x in ([ef] if isinstance(ef, str) else ef or [])] or [project_dir / ".env"]
        variables = self.variables(env_files, where)
        for f in files:
            doc = self.document(f.resolve())
            shown = f.relative_to(base) if f.is_relative_to(base) else f
            child = Project(f, variables, f"{where} ({shown}) -> ")
            self.project(child, doc, depth + 1)

    def extended(
        self, p: Project, path: Path, services: dict[str, Any], name: str, chain: list[tuple[Path, str]]
    ) -> tuple[dict[str, Any], list[str]]:
        """The service with what it `extends` merged under it, and the chain it came through."""
        svc = services.get(name)
        if not isinstance(svc, dict):
            return {}, []
        ext = svc.get("extends")
        own = {k: v for k, v in svc.items() if k != "extends"}
        if ext is None:
            return own, []
        if isinstance(ext, str):
            base_path, base_name = path, ext
        elif isinstance(ext, dict) and isinstance(ext.get("service"), str):
            target = ext.get("file")
            base_name = ext["service"]
            base_path = path.parent / interpolate(str(target), p.lookup, Issues()) if target else path
        else:
            self.warn(f"{p.prefix}services.{name}.extends", "extends without a service name: ignored")
            return own, []
        key = (base_path.resolve(), base_name)
        if key in chain or len(chain) >= MAX_DEPTH:
            self.warn(f"{p.prefix}services.{name}.extends", "extends forms a cycle or is nested too deeply: ignored")
            return own, []
        base_doc = services if base_path == path else (self.document(base_path.resolve()).get("services") or {})
        if base_name not in base_doc:
            self.warn(f"{p.prefix}services.{name}.extends", f"service {base_name} not found in {base_path}")
            return own, []
        base, via = self.extended(p, base_path, base_doc, base_name, [*chain, key])
        shown = "" if base_path == path else f"{Path(str(ext.get('file'))) if isinstance(ext, dict) else ''} "
        merged = {**base, **own}
        if "build" in base:
            merged["build"] = _merge_build(base["build"], own.get("build"), base_path.parent, path.parent)
        return merged, [f"extends {shown}{base_name}", *via]

    # -- one service ---------------------------------------------------------------------------------
    def build(self, p: Project, name: str, spec: Any, platform: str | None = None) -> str:
        """Follow `build:` to its Dockerfile and add the images its build pulls: those of the stages the build's
        `target` needs (Compose Specification, build section). Returns how the service is built, for its row."""
        where = f"{p.prefix}services.{name}.build"
        val = lambda x: interpolate(str(x), p.lookup, Issues()).strip()  # noqa: E731
        if isinstance(spec, str):
            spec = {"context": spec}
        if not isinstance(spec, dict):
            self.warn(where, "build: is neither a path nor a mapping: not followed")
            return "built from its build: context"
        context = val(spec.get("context") or ".")
        raw_args = spec.get("args") or {}
        pairs = raw_args.items() if isinstance(raw_args, dict) else (str(a).partition("=")[::2] for a in raw_args)
        args = {str(k): val(v) for k, v in pairs if v is not None}
        target = val(spec["target"]) if spec.get("target") else None
        workload = f"service {name} build"
        if "://" in context or context.startswith("git@"):
            self.report.skipped.append(Skipped(self.entry, where, "build-remote", f"a remote context ({context})"))
            return f"built from {context}"
        if isinstance(spec.get("dockerfile_inline"), str):
            text, shown = spec["dockerfile_inline"], f"{self.entry} ({where}.dockerfile_inline)"
        else:
            dockerfile = Path(context) / val(spec.get("dockerfile") or "Dockerfile")
            path = dockerfile if dockerfile.is_absolute() else p.path.parent / dockerfile
            shown = str(path)
            try:
                text = decode(path.read_bytes(), shown)
            except (OSError, InputError) as exc:
                self.warn(where, f"its Dockerfile {shown} could not be read ({getattr(exc, 'strerror', None) or exc})")
                return f"built from {shown} (not read)"
        from kdoctor.images.inputs.dockerfile import dockerfile_uses

        platforms = spec.get("platforms")
        if isinstance(platforms, list) and platforms:
            platform = platform or val(platforms[0])  # the first leg; each foreign leg runs the same steps emulated
        uses, skipped, warnings, plan = dockerfile_uses(
            text, shown, build_args=args, target=target, workload=workload, platform=platform
        )
        self.report.uses += uses
        self.report.builds.append(plan)
        self.report.skipped += skipped
        for w in warnings:
            self.warn(where, w)
        return f"built from {shown}" + (f" (target {target})" if target else "")

    def service(self, p: Project, name: str, svc: dict[str, Any], via: list[str]) -> None:
        where = f"{p.prefix}services.{name}"
        image = svc.get("image")
        plat = svc.get("platform")
        plat_text = interpolate(str(plat), p.lookup, Issues()).strip() or None if plat else None
        built = self.build(p, name, svc["build"], plat_text) if svc.get("build") is not None else None
        if image is None:
            reason, detail = (
                ("build-only", f"{built}, not pulled")
                if svc.get("build") is not None
                else ("provider", "a provider service, not a container")
                if svc.get("provider") is not None
                else ("no-image", "neither image nor build (a fragment for extends?)")
            )
            self.report.skipped.append(Skipped(self.entry, where, reason, detail))
            return
        policy = interpolate(str(svc.get("pull_policy") or ""), p.lookup, Issues()).strip().lower()
        if svc.get("build") is not None and policy in LOCAL_BUILD_POLICIES:
            # `image:` only names what `build:` makes here; Compose never pulls it (pull_policy, Compose Spec).
            detail = f"{built} (pull_policy: {policy}), not pulled"
            self.report.skipped.append(Skipped(self.entry, where, "build-only", detail))
            return
        issues = Issues()
        ref = interpolate(str(image), p.lookup, issues).strip()
        problem = None
        if issues.required:
            problem = "; ".join(f"required variable {v} is unset: {m}" for v, m in issues.required)
        elif issues.invalid:
            problem = "; ".join(issues.invalid)
        elif "{{" in ref:
            problem = TEMPLATE_HINT
        elif not ref and not issues.unset:
            problem = "the image is empty"
        path = f"{where}.image" + (f" ({', '.join(via)})" if via else "")
        # Where the image is written: an extended or included service's own file, not the one given.
        file, line, column = located(image)
        written = file if file and Path(file).resolve() != Path(self.entry).resolve() else None
        platform = svc.get("platform")
        self.report.uses.append(
            ImageUse(
                ref,
                command=self.words(p, f"{where}.entrypoint", svc.get("entrypoint")),
                args=self.words(p, f"{where}.command", svc.get("command")),
                platform=interpolate(str(platform), p.lookup, Issues()).strip() or None if platform else None,
                origins=[Origin(self.entry, f"service {name}", None, path, line, column, written)],
                unset=list(dict.fromkeys(issues.unset)),
                written=str(image).strip() if issues.unset else None,
                problem=problem,
            )
        )

    def words(self, p: Project, where: str, value: Any) -> list[str] | None:
        if isinstance(value, list):
            items = scalars(value)
            return [interpolate(x, p.lookup, Issues()) for x in items] if items is not None else None
        if not isinstance(value, str):
            return None
        out, err = split_command(interpolate(value, p.lookup, Issues()))
        if err:
            self.warn(where, err)
        return out


def _build_map(build: Any) -> dict[str, Any]:
    if isinstance(build, str):
        return {"context": build}
    return dict(build) if isinstance(build, dict) else {}


def _args_map(args: Any) -> dict[str, Any]:
    if isinstance(args, dict):
        return dict(args)
    return {k: v for k, _, v in (str(a).partition("=") for a in args or [])}


def _merge_build(base: Any, own: Any, base_dir: Path, own_dir: Path) -> dict[str, Any]:
    """`extends` merges `build` as a mapping and its `args` key by key, the service's own values winning; a
    relative context stays relative to the file that wrote it (Compose Specification, extends and merge)."""
    b, o = _build_map(base), _build_map(own)
    if base_dir != own_dir and "context" in b and "://" not in str(b["context"]):
        b["context"] = str(base_dir / str(b["context"]))
    merged = {**b, **o}
    if "args" in b or "args" in o:
        merged["args"] = {**_args_map(b.get("args")), **_args_map(o.get("args"))}
    if "context" not in o and "context" in b:
        merged["context"] = b["context"]
    return merged


def compose_uses(
    doc: dict[str, Any],
    path: Path,
    entry: str,
    *,
    environ: Mapping[str, str],
    env_files: list[Path] | None,
    report: SourceReport,
) -> None:
    """Read one Compose file (and what it includes and extends) into `report`."""
    ComposeLoader(entry, environ, env_files, report).load(doc, path)
