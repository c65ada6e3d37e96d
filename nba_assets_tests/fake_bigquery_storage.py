"""BigQuery's Storage Read API (``google.cloud.bigquery.storage.v1.BigQueryRead``), as far as the
client library's ``to_arrow`` uses it, answered by an in-process gRPC server on 127.0.0.1.

The real ``google-cloud-bigquery-storage`` client talks gRPC to it over an insecure local channel
(:meth:`FakeBigQueryRead.client`); nothing leaves the machine. It reads the anonymous result tables of
the queries :class:`fake_bigquery.FakeBigQuery` ran, and answers as the service documents:

* ``CreateReadSession`` on ``projects/<p>/datasets/_anon/tables/anon<job id>`` with ``data_format=ARROW``
  returns a session with the table's Arrow schema (the client library's own BigQuery -> Arrow mapping,
  ``bq_to_arrow_schema``: DATE -> date32, DATETIME -> timestamp tagged ``google:sqlType:datetime``,
  TIMESTAMP -> timestamp UTC, RECORD -> struct, REPEATED -> list) and up to ``streams`` streams that split
  the rows between them; a table without rows gets no stream. An unknown table is ``NOT_FOUND``;
* ``ReadRows`` on a stream sends its rows as Arrow IPC record batches (``batch_rows`` rows each), the first
  response carrying the schema;
* fault ``refuse``: ``CreateReadSession`` fails with ``PERMISSION_DENIED`` and that message, as for a
  service account without ``bigquery.readsessions.create``.

Not emulated: LZ4 buffer compression (the client asks for it; the batches come uncompressed, which the
client reads all the same), row filters, snapshots, stream splitting, quotas.
"""

import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pyarrow as pa
from google.cloud.bigquery import SchemaField
from google.cloud.bigquery._pandas_helpers import bq_to_arrow_schema
from google.cloud.bigquery_storage_v1 import BigQueryReadClient, types
from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

from nba_assets_tests.fake_bigquery import FakeBigQuery

SERVICE = "google.cloud.bigquery.storage.v1.BigQueryRead"


@dataclass
class FakeBigQueryRead:
    warehouse: FakeBigQuery
    streams: int = 2
    batch_rows: int = 1
    refuse: str | None = None
    sessions: list[str] = field(default_factory=list)  # the table of each CreateReadSession, in order
    reads: list[str] = field(default_factory=list)  # the stream of each ReadRows
    _tables: dict[str, pa.Table] = field(default_factory=dict)  # stream name -> its rows
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        handler = grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "CreateReadSession": grpc.unary_unary_rpc_method_handler(
                    self._create_read_session,
                    request_deserializer=types.CreateReadSessionRequest.deserialize,
                    response_serializer=types.ReadSession.serialize,
                ),
                "ReadRows": grpc.unary_stream_rpc_method_handler(
                    self._read_rows,
                    request_deserializer=types.ReadRowsRequest.deserialize,
                    response_serializer=types.ReadRowsResponse.serialize,
                ),
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None)

    def client(self) -> BigQueryReadClient:
        """A real read client whose channel leads to this server."""
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))

    def _create_read_session(
        self, request: types.CreateReadSessionRequest, context: grpc.ServicerContext
    ) -> types.ReadSession:
        name = request.read_session.table
        with self._lock:
            self.sessions.append(name)
        if self.refuse:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, self.refuse)
        parts = name.split("/")  # projects/<p>/datasets/<d>/tables/<t>
        found = self.warehouse.result_table(f"{parts[3]}.{parts[5]}") if len(parts) == 6 else None
        if found is None or request.read_session.data_format != types.DataFormat.ARROW:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Not found: Table {name}")
        schema, rows = found  # type: ignore[misc]
        arrow_schema = bq_to_arrow_schema([SchemaField.from_api_repr(f) for f in schema])
        assert arrow_schema is not None, schema
        table = pa.Table.from_pylist(
            [dict(zip(arrow_schema.names, r, strict=True)) for r in rows], arrow_schema
        )
        session_name = f"projects/{self.warehouse.project}/locations/US/sessions/s{len(self.sessions)}"
        count = min(self.streams, table.num_rows)
        bounds = [i * table.num_rows // count for i in range(count + 1)] if count else []
        streams = []
        for i in range(count):
            stream = f"{session_name}/streams/{i}"
            with self._lock:
                self._tables[stream] = table.slice(bounds[i], bounds[i + 1] - bounds[i])
            streams.append(types.ReadStream(name=stream))
        return types.ReadSession(
            name=session_name,
            table=name,
            data_format=types.DataFormat.ARROW,
            arrow_schema=types.ArrowSchema(serialized_schema=arrow_schema.serialize().to_pybytes()),
            streams=streams,
        )

    def _read_rows(self, request: types.ReadRowsRequest, context: grpc.ServicerContext) -> Any:
        with self._lock:
            self.reads.append(request.read_stream)
            table = self._tables.get(request.read_stream)
        if table is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Not found: stream {request.read_stream}")
        schema = types.ArrowSchema(serialized_schema=table.schema.serialize().to_pybytes())  # type: ignore[union-attr]
        for i, batch in enumerate(table.to_batches(max_chunksize=self.batch_rows)):  # type: ignore[union-attr]
            yield types.ReadRowsResponse(
                arrow_record_batch=types.ArrowRecordBatch(
                    serialized_record_batch=batch.serialize().to_pybytes(), row_count=batch.num_rows
                ),
                row_count=batch.num_rows,
                arrow_schema=schema if i == 0 else None,
            )
