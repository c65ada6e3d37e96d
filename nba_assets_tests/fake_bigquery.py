"""BigQuery's REST API, as far as the prod warehouse IO manager uses it, answered in-process.

The real ``google-cloud-bigquery`` client (anonymous credentials) talks HTTP; ``responses`` hands its
requests to this double instead of the network. What it does with them follows BigQuery's documented
behaviour, backed by an in-memory DuckDB:

* a load job (multipart upload) must declare a schema that matches the Parquet it uploads, type for
  type; it replaces its destination table (``WRITE_TRUNCATE``) or appends to it (the default);
* a query job runs GoogleSQL statements separated by ``;``: named ``@parameters``, backquoted
  identifiers, ``IN UNNEST(@array)``, ``CREATE TABLE IF NOT EXISTS a LIKE b``,
  ``BEGIN TRANSACTION`` / ``COMMIT TRANSACTION``. A statement that fails ends the query with an
  error and rolls back an open transaction, as BigQuery does without an exception handler;
* a query of a missing table fails with ``notFound``; rows come back JSON-encoded per column type,
  the way ``jobs.getQueryResults`` returns them, in pages: at most ``maxResults`` rows (the client asks
  for none while it waits for the job) and a ``pageToken`` while rows remain. A query job names its
  anonymous result table (``destinationTable`` in ``_anon``), which the Storage Read API's fake
  (:mod:`fake_bigquery_storage`) reads;
* ``INSERT INTO t (cols) SELECT cols FROM s`` refuses a column ``t`` lacks and a column whose type
  GoogleSQL cannot coerce to ``t``'s (its conversion rules: INT64 -> NUMERIC, BIGNUMERIC, FLOAT64;
  NUMERIC -> BIGNUMERIC, FLOAT64; BIGNUMERIC -> FLOAT64; DATE -> DATETIME; anything else only to
  itself, so FLOAT64 into INT64 fails), like BigQuery; a column of ``t`` not listed is NULL, as there;
* ``tables.get`` answers a table's reference and schema, with the legacy type names (INTEGER, FLOAT,
  BOOLEAN): the API documents both spellings, so code comparing schemas must accept either;
* ``tables.list`` answers a dataset's tables (reference, type, ``creationTime`` in epoch milliseconds) in
  one page, and ``notFound`` for a dataset that does not exist. A table's creation time is when a load
  job created or replaced it, or the one :meth:`FakeBigQuery.put_table` gave it.

Not emulated (the IO manager does not rely on it): the values' conversion itself is DuckDB's once the
coercion is allowed; REQUIRED modes, NUMERIC precision, descriptions and every other table property
(``tables.get`` has no ``numRows``, partitioning, ...); schema updates (``ALTER TABLE``,
``schemaUpdateOptions``); STRUCT and ARRAY coercion (their types must be equal); concurrency beyond the
``conflicts`` fault (requests are handled one at a time).

Faults: ``fail_load`` (load jobs fail), ``fail_statement`` (a statement containing this text fails),
``fail_list`` (``tables.list`` fails with a server error) and ``conflicts`` (that many transactions are cancelled for a concurrent update, as BigQuery cancels
a transaction that mutates a table another transaction is mutating). Every request is kept in ``requests`` for the tests to read.

``stall`` (a stalled job): the next ``stalls`` jobs whose query contains this text (``"LOAD"``: load jobs)
never finish: ``jobs.insert``, ``jobs.get`` and ``getQueryResults`` answer RUNNING / ``jobComplete: false``
for ever and nothing of the job is applied. ``jobs.cancel`` (each request's job id kept in ``cancels``)
stops it as BigQuery documents for a script cancelled before its ``COMMIT TRANSACTION``: the job ends
DONE with reason ``stopped`` and nothing applied (its transaction is rolled back). With ``late_commit`` the
cancel arrives too late: the job applies its work (the load, or every statement up to the COMMIT) and ends
DONE without error, as a job that finished before the cancel took effect. ``fail_cancel`` makes
``jobs.cancel`` fail with a server error (the job stays RUNNING).

``billed`` (the cap on bytes billed): a query job whose query contains a key would bill that many bytes.
A job whose ``maximumBytesBilled`` is below it is refused as BigQuery refuses it, before running and
without charge: DONE with reason ``bytesBilledLimitExceeded`` and "Query exceeded limit for bytes billed:
<cap>. <bytes> or higher required.", nothing applied. Without a cap the job runs (BigQuery bills it all).

``lose_reply`` (a request creating a job that times out): the next ``lost_replies`` requests creating a
job whose query contains this text (``"LOAD"``: a load's upload) get no answer: the client's HTTP call
raises requests' ``ReadTimeout`` after waiting its timeout, on ``clock`` (:class:`VirtualClock`) when a
test installed one. With ``applied_before_loss`` the request reached BigQuery and the job ran (its work
is applied) before the answer was lost; without, nothing of it happened.
"""

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import requests
import responses

BASE = "https://bigquery.googleapis.com"
ANONYMOUS_DATASET = "_anon"  # where a query's result table lives (BigQuery's are hidden datasets too)


@dataclass
class Request:
    method: str
    path: str
    body: dict[str, Any] | None
    # the client's ``timeout`` for this HTTP request (requests' keyword; None: wait for ever)
    timeout: float | tuple[float, float] | None = None


@dataclass
class FakeBigQuery:
    project: str = "p"
    fail_load: str | None = None
    fail_statement: str | None = None
    conflicts: int = 0
    fail_list: bool = False
    stall: str | None = None  # a job whose query contains this ("LOAD": a load job) never finishes
    stalls: int = 1  # how many such jobs stall; later ones run normally
    late_commit: bool = False  # a cancel of a stalled job comes too late: its work is applied
    fail_cancel: bool = False
    cancels: list[str] = field(default_factory=list)  # job ids of jobs.cancel requests
    billed: dict[str, int] = field(default_factory=dict)  # query text -> bytes a job with it bills
    lose_reply: str | None = None  # the answer to a request creating such a job is lost ("LOAD": loads)
    lost_replies: int = 1  # how many such answers are lost; later ones arrive
    applied_before_loss: bool = False  # a request whose answer is lost created its job, which ran
    clock: Any = None  # a VirtualClock: a lost answer is waited for on it
    requests: list[Request] = field(default_factory=list)
    schemas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "dataset.table" -> fields
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)  # "dataset.table" -> creation time
    storage: Any = None  # the Storage Read API's fake (fake_bigquery_storage), when a test starts one

    def __post_init__(self) -> None:
        self.db = duckdb.connect()
        # BigQuery's TIMESTAMPs are UTC; DuckDB's session zone is the machine's, and a row fetched in it
        # became another instant in the Storage Read API's UTC arrow table (under TZ=America/New_York too)
        self.db.execute("SET TimeZone = 'UTC'")

    # ------------------------------------------------------------------ wiring

    def install(self, mock: responses.RequestsMock) -> None:
        any_path = re.compile(re.escape(BASE) + r"/.*")
        for method in (responses.GET, responses.POST, responses.DELETE):
            mock.add_callback(method, any_path, callback=self._dispatch)

    def _dispatch(self, request: Any) -> tuple[int, dict[str, str], str]:
        path = request.path_url.split("?")[0]
        timeout = request.req_kwargs.get("timeout")  # what the client passed to requests
        if path.startswith("/upload/bigquery/v2/projects/") and path.endswith("/jobs"):
            config, data = self._multipart(request)
            self.requests.append(Request("LOAD", path, config, timeout))
            return self._created("LOAD", timeout, lambda: self._load(config, data))
        body = json.loads(request.body) if request.body else None
        self.requests.append(Request(request.method, path, body, timeout))
        if request.method == "POST" and path.endswith("/jobs"):
            return self._created(body["configuration"]["query"]["query"], timeout, lambda: self._query(body))
        if m := re.fullmatch(r"/bigquery/v2/projects/[^/]+/jobs/([^/]+)/cancel", path):
            return self._cancel(m.group(1))
        if m := re.fullmatch(r"/bigquery/v2/projects/[^/]+/queries/([^/]+)", path):
            query = parse_qs(urlsplit(request.url).query)
            return self._reply(self._results(self.jobs[m.group(1)], query))
        if m := re.fullmatch(r"/bigquery/v2/projects/[^/]+/jobs/([^/]+)", path):
            return self._reply(self.jobs[m.group(1)]["resource"])
        if m := re.fullmatch(r"/bigquery/v2/projects/[^/]+/datasets/([^/]+)/tables", path):
            return self._list_tables(m.group(1))
        if m := re.fullmatch(r"/bigquery/v2/projects/[^/]+/datasets/([^/]+)/tables/([^/]+)", path):
            if request.method == "DELETE":
                return self._drop(m.group(1), m.group(2))
            return self._get_table(m.group(1), m.group(2))
        raise AssertionError(f"fake BigQuery: unexpected request {request.method} {path}")

    def _created(self, text: str, timeout: Any, work: Any) -> tuple[int, dict[str, str], str]:
        """The answer to a request creating a job (``work`` creates it), unless it is lost
        (``lose_reply``): then requests' ReadTimeout after the client's ``timeout``."""
        if self.lose_reply is None or self.lost_replies <= 0 or self.lose_reply not in text:
            return self._reply(work())
        self.lost_replies -= 1
        if self.applied_before_loss:
            work()
        seconds = timeout[1] if isinstance(timeout, tuple) else timeout
        if self.clock is not None and seconds is not None:
            self.clock.sleep(seconds)
        raise requests.exceptions.ReadTimeout(f"fake BigQuery: no answer within {seconds} s")

    @staticmethod
    def _reply(payload: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, json.dumps(payload)

    @staticmethod
    def _multipart(request: Any) -> tuple[dict[str, Any], bytes]:
        """(job resource, uploaded bytes) of a ``multipart/related`` upload."""
        content_type = request.headers["Content-Type"]
        if isinstance(content_type, bytes):
            content_type = content_type.decode()
        boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1)  # type: ignore[union-attr]
        parts = request.body.split(b"--" + boundary.encode())
        config_part, data_part = (p.split(b"\r\n\r\n", 1)[1] for p in parts[1:3])
        return json.loads(config_part.rstrip(b"\r\n")), data_part[: -len(b"\r\n")]

    # ------------------------------------------------------------------ tables

    def table(self, name: str) -> pl.DataFrame:
        """The stored rows of ``dataset.table`` (for assertions)."""
        dataset, table = name.split(".")
        return self.db.sql(f'SELECT * FROM "{dataset}"."{table}"').pl()

    def tables(self) -> list[str]:
        rows = self.db.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        ).fetchall()
        return sorted(r[0] for r in rows)

    def _get_table(self, dataset: str, table: str) -> tuple[int, dict[str, str], str]:
        name = f"{dataset}.{table}"
        if name not in self.tables():
            return 404, {}, json.dumps({"error": {"code": 404, "message": f"Not found: Table {table}"}})
        reference = {"projectId": self.project, "datasetId": dataset, "tableId": table}
        fields = [_legacy(f) for f in self.schemas[name]]
        return self._reply({"tableReference": reference, "schema": {"fields": fields}})

    def put_table(self, name: str, frame: pl.DataFrame, created: datetime) -> None:
        """Store ``frame`` as table ``dataset.table``, created at ``created`` (a test's setup)."""
        dataset = name.split(".")[0]
        self.db.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        self.db.register("_put", frame.to_arrow())
        self.db.execute(f"CREATE OR REPLACE TABLE {_quoted(name)} AS SELECT * FROM _put")
        self.db.unregister("_put")
        kinds = {pl.Int64: "INTEGER", pl.String: "STRING", pl.Date: "DATE"}
        self.schemas[name] = [{"name": c, "type": kinds[t.base_type()]} for c, t in frame.schema.items()]
        self.created[name] = created

    def _list_tables(self, dataset: str) -> tuple[int, dict[str, str], str]:
        if self.fail_list:
            return 500, {}, json.dumps({"error": {"code": 500, "message": "backendError"}})
        schemas = {
            r[0] for r in self.db.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
        }
        if dataset not in schemas:
            return 404, {}, json.dumps({"error": {"code": 404, "message": f"Not found: Dataset {dataset}"}})
        items = []
        for name in self.tables():
            ds, table = name.split(".")
            if ds == dataset:
                item = {
                    "kind": "bigquery#table",
                    "tableReference": {"projectId": self.project, "datasetId": ds, "tableId": table},
                    "type": "TABLE",
                }
                if name in self.created:
                    item["creationTime"] = str(int(self.created[name].timestamp() * 1000))
                items.append(item)
        return self._reply({"kind": "bigquery#tableList", "tables": items, "totalItems": len(items)})

    def _drop(self, dataset: str, table: str) -> tuple[int, dict[str, str], str]:
        if f"{dataset}.{table}" not in self.tables():
            return 404, {}, json.dumps({"error": {"code": 404, "message": f"Not found: Table {table}"}})
        self.db.execute(f'DROP TABLE "{dataset}"."{table}"')
        self.schemas.pop(f"{dataset}.{table}", None)
        self.created.pop(f"{dataset}.{table}", None)
        return 204, {}, ""

    # ------------------------------------------------------------------ jobs

    def _job(self, kind: str, error: str | None = None, reason: str = "invalidQuery") -> dict[str, Any]:
        job_id = uuid.uuid4().hex
        resource: dict[str, Any] = {
            "jobReference": {"projectId": self.project, "jobId": job_id, "location": "US"},
            "configuration": {kind: {}},
            "status": {"state": "DONE"},
            "statistics": {"query": {"statementType": "SCRIPT"}} if kind == "query" else {},
        }
        if error:
            resource["status"]["errorResult"] = {"reason": reason, "message": error}
            resource["status"]["errors"] = [{"reason": reason, "message": error}]
        self.jobs[job_id] = {"resource": resource, "rows": [], "schema": []}
        return resource

    def _load(self, config: dict[str, Any], data: bytes) -> dict[str, Any]:
        load = config["configuration"]["load"]
        dest = load["destinationTable"]
        assert dest["projectId"] == self.project
        assert load["sourceFormat"] == "PARQUET"
        if self.fail_load:
            return self._job("load", self.fail_load, "invalid")
        if self._stalls("LOAD"):
            return self._hold("load", lambda: self._load(config, data))
        # The client's own Parquet (load_table_from_dataframe) tags columns with BigQuery type names in
        # the field metadata; BigQuery reads the physical types, so the fake drops the tags.
        arrow = pq.read_table(io.BytesIO(data))
        frame = pl.from_arrow(arrow.cast(pa.schema([f.remove_metadata() for f in arrow.schema])))
        assert isinstance(frame, pl.DataFrame)
        fields = load["schema"]["fields"]
        for f in fields:
            problem = _incompatible(f, frame.schema.get(f["name"]))
            if problem:
                return self._job("load", f"Provided Schema does not match Table: {problem}", "invalid")
        self.db.execute(f'CREATE SCHEMA IF NOT EXISTS "{dest["datasetId"]}"')
        name = f"{dest['datasetId']}.{dest['tableId']}"
        self.db.register("_incoming", frame.select(f["name"] for f in fields).to_arrow())
        if load.get("writeDisposition") == "WRITE_TRUNCATE" or name not in self.tables():
            self.db.execute(f"CREATE OR REPLACE TABLE {_quoted(name)} AS SELECT * FROM _incoming")
            self.schemas[name] = fields
            self.created[name] = datetime.now(UTC)
        else:  # WRITE_APPEND, BigQuery's default for load jobs
            self.db.execute(f"INSERT INTO {_quoted(name)} BY NAME SELECT * FROM _incoming")
        self.db.unregister("_incoming")
        return self._job("load")

    def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        query = body["configuration"]["query"]
        if self._stalls(query["query"]):
            return self._hold("query", lambda: self._query(body))
        needed = max((n for text, n in self.billed.items() if text in query["query"]), default=0)
        cap = query.get("maximumBytesBilled")
        if cap is not None and needed > int(cap):
            message = f"Query exceeded limit for bytes billed: {cap}. {needed} or higher required."
            return self._job("query", message, "bytesBilledLimitExceeded")
        params = {p["name"]: _param(p) for p in query.get("queryParameters", [])}
        if self.conflicts and "BEGIN TRANSACTION" in query["query"]:
            self.conflicts -= 1
            return self._job("query", "Transaction is aborted due to concurrent update against table t")
        in_transaction = False
        last: tuple[list[dict[str, Any]], list[tuple]] = ([], [])
        for statement in (s.strip() for s in query["query"].split(";")):
            if not statement:
                continue
            try:
                if self.fail_statement and self.fail_statement in statement:
                    raise duckdb.Error(f"injected failure: {statement[:40]}")
                if statement == "BEGIN TRANSACTION":
                    self.db.execute("BEGIN TRANSACTION")
                    in_transaction = True
                elif statement == "COMMIT TRANSACTION":
                    self.db.execute("COMMIT")
                    in_transaction = False
                else:
                    last = self._statement(statement, params)
            except duckdb.Error as exc:
                if in_transaction:
                    self.db.execute("ROLLBACK")
                missing = isinstance(exc, duckdb.CatalogException)
                return self._job("query", str(exc), "notFound" if missing else "invalidQuery")
        resource = self._job("query")
        job_id = resource["jobReference"]["jobId"]
        # BigQuery writes every query's result to an anonymous table (the Storage Read API reads it)
        resource["configuration"]["query"]["destinationTable"] = {
            "projectId": self.project,
            "datasetId": ANONYMOUS_DATASET,
            "tableId": f"anon{job_id}",
        }
        self.jobs[job_id].update(schema=last[0], rows=last[1])
        return resource

    def _stalls(self, text: str) -> bool:
        """Whether a job whose query is ``text`` (``"LOAD"`` for a load job) stalls (one of ``stalls``)."""
        if self.stall is None or self.stalls <= 0 or self.stall not in text:
            return False
        self.stalls -= 1
        return True

    def _hold(self, kind: str, work: Any) -> dict[str, Any]:
        """A job that stays RUNNING: ``work`` (what it would do) runs only if a cancel comes too late."""
        resource = self._job(kind)
        resource["status"] = {"state": "RUNNING"}
        self.jobs[resource["jobReference"]["jobId"]]["work"] = work
        return resource

    def _cancel(self, job_id: str) -> tuple[int, dict[str, str], str]:
        """``jobs.cancel``: a stalled job stops (nothing applied) or, with ``late_commit``, finishes its
        work; a finished job stays as it is. The reply is the job's resource after the request."""
        self.cancels.append(job_id)
        if self.fail_cancel:
            return 500, {}, json.dumps({"error": {"code": 500, "message": "backendError"}})
        job = self.jobs[job_id]
        work = job.pop("work", None)
        if work is not None:
            if self.late_commit:
                stalls, self.stall = self.stall, None  # the held job's own work does not stall again
                done = work()  # its resource, under a job id of its own
                self.stall = stalls
                finished = self.jobs[done["jobReference"]["jobId"]]
                job.update(
                    schema=finished["schema"],
                    rows=finished["rows"],
                    resource={**done, "jobReference": job["resource"]["jobReference"]},
                )
            else:
                reason, message = "stopped", "Job execution was cancelled: User requested cancellation"
                job["resource"]["status"] = {
                    "state": "DONE",
                    "errorResult": {"reason": reason, "message": message},
                    "errors": [{"reason": reason, "message": message}],
                }
        return self._reply({"kind": "bigquery#jobCancelResponse", "job": job["resource"]})

    def _statement(self, sql: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple]]:
        like = re.fullmatch(r"CREATE TABLE IF NOT EXISTS `([^`]+)` LIKE `([^`]+)`", sql)
        if like:
            target, source = (self._name(n) for n in like.groups())
            if target not in self.tables():
                self.db.execute(f"CREATE TABLE {_quoted(target)} AS SELECT * FROM {_quoted(source)} LIMIT 0")
                self.schemas[target] = self.schemas[source]
                self.created[target] = datetime.now(UTC)
            return [], []
        insert = re.fullmatch(r"INSERT INTO `([^`]+)` \(([^)]*)\) SELECT (.*) FROM `([^`]+)`", sql, re.S)
        if insert:
            self._check_insert(self._name(insert.group(1)), insert.group(2), self._name(insert.group(4)))
        translated = re.sub(r"IN UNNEST\(@(\w+)\)", r"IN (SELECT UNNEST($\1))", sql)
        translated = re.sub(r"@(\w+)", r"$\1", translated)
        translated = re.sub(r"`([^`]+)`", lambda m: _quoted(self._name(m.group(1))), translated)
        used = {k: v for k, v in params.items() if f"${k}" in translated}
        result = self.db.execute(translated, used)
        if not sql.startswith("SELECT"):
            return [], []
        source = self._name(re.search(r"FROM `([^`]+)`", sql).group(1))  # type: ignore[union-attr]
        columns = [d[0] for d in result.description]
        by_name = {f["name"]: f for f in self.schemas[source]}
        return [by_name[c] for c in columns], result.fetchall()

    def _check_insert(self, target: str, columns: str, source: str) -> None:
        """BigQuery's INSERT ... SELECT: each listed column must exist in the target, and its type in the
        source must be the target's or coerce to it (else the statement fails, as there)."""
        into = {f["name"]: f for f in self.schemas[target]}
        values = {f["name"]: f for f in self.schemas[source]}
        for i, name in enumerate((c.strip().strip("`") for c in columns.split(",")), start=1):
            if name not in into:
                raise duckdb.BinderException(f"Column {name} is not present in table {target}")
            have, want = _type_text(values[name]), _type_text(into[name])
            if have != want and want not in _COERCES_TO.get(have, ()):
                raise duckdb.ConversionException(
                    f"Query column {i} has type {have} which cannot be inserted into column {name}, "
                    f"which has type {want}"
                )

    def _name(self, name: str) -> str:
        """`project.dataset.table` -> dataset.table; a bare `column` stays as it is."""
        parts = name.split(".")
        if len(parts) == 3:
            assert parts[0] == self.project, name
            return f"{parts[1]}.{parts[2]}"
        return name

    def _results(self, job: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
        """One page of ``jobs.getQueryResults``: at most ``maxResults`` rows (the client asks for 0 while
        it waits for the job) from the ``pageToken`` offset, and the next page's token if rows remain."""
        if job["resource"]["status"]["state"] != "DONE":  # still running: no result yet
            return {"jobReference": job["resource"]["jobReference"], "jobComplete": False}
        schema, rows = job["schema"], job["rows"]
        start = int(query.get("pageToken", ["0"])[0])
        size = int(query["maxResults"][0]) if "maxResults" in query else len(rows)
        page = rows[start : start + size]
        reply = {
            "jobReference": job["resource"]["jobReference"],
            "jobComplete": True,
            "schema": {"fields": schema},
            "totalRows": str(len(rows)),
            "rows": [{"f": [{"v": _cell(v, f)} for v, f in zip(row, schema, strict=True)]} for row in page],
        }
        if start + size < len(rows):
            reply["pageToken"] = str(start + size)
        return reply

    def result_table(self, table: str) -> tuple[list[dict[str, Any]], list[tuple]] | None:
        """(schema, rows) of a query's anonymous result table ``_anon.anon<job id>`` (None: no such table)."""
        match = re.fullmatch(rf"{ANONYMOUS_DATASET}\.anon(\w+)", table)
        job = self.jobs.get(match.group(1)) if match else None
        return None if job is None else (job["schema"], job["rows"])


def _quoted(name: str) -> str:
    return ".".join(f'"{p}"' for p in name.split("."))


def _param(p: dict[str, Any]) -> Any:
    kind = p["parameterType"]["type"]
    if kind == "ARRAY":
        return [v["value"] for v in p["parameterValue"]["arrayValues"]]
    value = p["parameterValue"]["value"]
    return date.fromisoformat(value) if kind == "DATE" else value


_STANDARD = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "STRUCT": "RECORD"}  # legacy names
_COMPATIBLE: dict[str, tuple[type[pl.DataType], ...]] = {
    "DATE": (pl.Date,),
    "INT64": (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32),
    "FLOAT64": (pl.Float32, pl.Float64),
    "BOOL": (pl.Boolean,),
    "STRING": (pl.String, pl.Categorical, pl.Enum),
    "TIME": (pl.Time,),
    "BYTES": (pl.Binary,),
    "NUMERIC": (pl.Decimal,),
    "BIGNUMERIC": (pl.Decimal,),
}


# GoogleSQL's implicit coercions between column types (conversion rules, "Coerce to").
_COERCES_TO: dict[str, tuple[str, ...]] = {
    "INT64": ("NUMERIC", "BIGNUMERIC", "FLOAT64"),
    "NUMERIC": ("BIGNUMERIC", "FLOAT64"),
    "BIGNUMERIC": ("FLOAT64",),
    "DATE": ("DATETIME",),
}
_LEGACY = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}


def _type_text(f: dict[str, Any]) -> str:
    """A field's GoogleSQL type as text: INT64, ARRAY<STRING>, STRUCT<a STRING>."""
    kind = _STANDARD.get(f["type"], f["type"])
    if kind == "RECORD":
        kind = "STRUCT<" + ", ".join(f"{sub['name']} {_type_text(sub)}" for sub in f["fields"]) + ">"
    return f"ARRAY<{kind}>" if f.get("mode") == "REPEATED" else kind


def _legacy(f: dict[str, Any]) -> dict[str, Any]:
    """A field as ``tables.get`` answers it: legacy type names, nested fields too."""
    out = {**f, "type": _LEGACY.get(f["type"], f["type"])}
    if "fields" in f:
        out["fields"] = [_legacy(sub) for sub in f["fields"]]
    return out


def _incompatible(f: dict[str, Any], dtype: pl.DataType | None) -> str | None:
    """Why a Parquet column of polars type ``dtype`` cannot load into BigQuery field ``f`` (None: it can)."""
    if dtype is None:
        return f"{f['name']} is not in the file"
    if f.get("mode") == "REPEATED":
        if not isinstance(dtype, pl.List):
            return f"{f['name']} is REPEATED but the file has {dtype}"
        return _incompatible({**f, "mode": "NULLABLE"}, dtype.inner)  # type: ignore[arg-type]
    kind = _STANDARD.get(f["type"], f["type"])
    if kind == "RECORD":
        if not isinstance(dtype, pl.Struct):
            return f"{f['name']} is RECORD but the file has {dtype}"
        inner = {x.name: x.dtype for x in dtype.fields}
        for sub in f["fields"]:
            problem = _incompatible(sub, inner.get(sub["name"]))  # type: ignore[arg-type]
            if problem:
                return f"{f['name']}.{problem}"
        return None
    if kind in ("TIMESTAMP", "DATETIME"):
        ok = isinstance(dtype, pl.Datetime) and bool(dtype.time_zone) == (kind == "TIMESTAMP")
    else:
        ok = dtype.base_type() in _COMPATIBLE.get(kind, ())
    return None if ok else f"{f['name']} is {kind} but the file has {dtype}"


def _cell(value: Any, f: dict[str, Any]) -> Any:
    """A value as ``jobs.getQueryResults`` encodes it for field ``f``."""
    if value is None:
        return None
    if f.get("mode") == "REPEATED":
        return [{"v": _cell(v, {**f, "mode": "NULLABLE"})} for v in value]
    kind = _STANDARD.get(f["type"], f["type"])
    if kind == "RECORD":
        return {"f": [{"v": _cell(value[sub["name"]], sub)} for sub in f["fields"]]}
    if kind == "TIMESTAMP":
        return str(int(value.astimezone(UTC).timestamp() * 1_000_000))
    if kind == "BOOL":
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class VirtualClock:
    """The clock of the client libraries' retries (google-api-core's deadlines and backoff sleeps,
    google-resumable-media's upload retries), so a test can play a request that waits out a timeout of
    minutes, and the retries that follow it, at once: sleeping advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def install(self, monkeypatch: Any) -> None:
        """Replace the ``time`` module of the retry code (it calls only monotonic and sleep)."""
        from google.api_core.retry import retry_base, retry_unary
        from google.resumable_media.requests import _request_helpers

        for module in (retry_base, retry_unary, _request_helpers):
            monkeypatch.setattr(module, "time", self)
