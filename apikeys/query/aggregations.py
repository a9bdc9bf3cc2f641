"""The aggregations of the query API (`terms`, `range`, `date_range`, `missing`, `cardinality`,
`value_count`, `filter`, `filters`, `composite`), each computed in the database, with sub-aggregations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from apikeys.domain.durations import epoch_millis, iso_timestamp
from apikeys.domain.errors import QueryError, reject_unknown
from apikeys.query.datemath import parse_date
from apikeys.query.dsl import compile_query
from apikeys.query.fields import Field, exact, present, resolve_field
from apikeys.query.sort import SortKey, rows_after, sort_value

# Elasticsearch's `search.max_buckets`: also keeps a bucket count within what a LIMIT takes.
MAX_BUCKETS = 65_536


AGGREGATION_TYPES = {
    "terms": "sterms",
    "range": "range",
    "date_range": "date_range",
    "missing": "missing",
    "cardinality": "cardinality",
    "value_count": "value_count",
    "filter": "filter",
    "filters": "filters",
    "composite": "composite",
}


def _agg_key(fld: Field, value: Any) -> dict[str, Any]:
    if fld.kind == "date":
        millis = epoch_millis(value)
        return {"key": millis, "key_as_string": iso_timestamp(value)}
    if fld.kind == "boolean":
        return {"key": int(value), "key_as_string": "true" if value else "false"}
    return {"key": value}


def _typed(name: str, kind: str, fld: Field | None, typed_keys: bool) -> str:
    if not typed_keys:
        return name
    prefix = AGGREGATION_TYPES[kind]
    if kind == "terms" and fld is not None and fld.kind in ("date", "boolean"):
        prefix = "lterms"
    return f"{prefix}#{name}"


def _agg_field(body: Mapping[str, Any], kind: str) -> Field:
    if "field" not in body:
        raise QueryError(f"Required [field] missing for aggregation of type [{kind}]")
    fld = resolve_field(body["field"])
    return fld


def _check_keys(kind: str, body: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise QueryError(f"[{kind}] aggregation must be an object", "parsing_exception")
    reject_unknown(body, allowed, f"[{kind}] aggregation does not support [{{}}]", QueryError, "parsing_exception")
    return body


def compute_aggregations(queryset: QuerySet, aggs: Any, typed_keys: bool = False) -> dict[str, Any]:
    if not isinstance(aggs, Mapping):
        raise QueryError("[aggs] must be an object of named aggregations", "parsing_exception")
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        if not isinstance(spec, Mapping):
            raise QueryError(f"aggregation [{name}] must be an object", "parsing_exception")
        kinds = [k for k in spec if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1:
            raise QueryError(f"aggregation [{name}] must name exactly one aggregation type", "parsing_exception")
        kind = kinds[0]
        if kind not in AGGREGATION_TYPES:
            raise QueryError(f"Unsupported aggregation of type [{kind}] with name [{name}]")
        sub = spec.get("aggs", spec.get("aggregations"))
        result, fld = _AGGREGATIONS[kind](queryset, spec[kind], sub, typed_keys)
        out[_typed(name, kind, fld, typed_keys)] = result
    return out


def _with_sub(queryset: QuerySet, bucket: dict[str, Any], sub: Any, typed_keys: bool) -> dict[str, Any]:
    if sub:
        bucket.update(compute_aggregations(queryset, sub, typed_keys))
    return bucket


def _terms_agg(queryset, body, sub, typed_keys):
    body = _check_keys("terms", body, {"field", "size", "order", "missing", "min_doc_count", "shard_size"})
    fld = _agg_field(body, "terms")
    size = body.get("size", 10)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise QueryError("[size] must be greater than 0 in the terms aggregation")
    if size > MAX_BUCKETS:
        raise QueryError(f"[size] must be at most [{MAX_BUCKETS}] in the terms aggregation")
    order = body.get("order", {"_count": "desc"})
    if not isinstance(order, Mapping) or len(order) != 1:
        raise QueryError('[order] must be {"_count": "asc|desc"} or {"_key": "asc|desc"}')
    ((by, direction),) = order.items()
    if by not in ("_count", "_key") or direction not in ("asc", "desc"):
        raise QueryError('[order] must be {"_count": "asc|desc"} or {"_key": "asc|desc"}')
    grouped = (
        queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).values("_agg").annotate(_n=Count("pk"))
    )
    sign = "-" if direction == "desc" else ""
    grouped = grouped.order_by(f"{sign}_n", "_agg") if by == "_count" else grouped.order_by(f"{sign}_agg")
    rows = list(grouped[:size])
    total = queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).count()
    buckets = []
    for row in rows:
        bucket = {**_agg_key(fld, row["_agg"]), "doc_count": row["_n"]}
        buckets.append(_with_sub(queryset.filter(exact(fld, row["_agg"])), bucket, sub, typed_keys))
    if "missing" in body:
        missing_qs = queryset.filter(~present(fld))
        count = missing_qs.count()
        if count:
            buckets.append(_with_sub(missing_qs, {"key": body["missing"], "doc_count": count}, sub, typed_keys))
    result = {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": total - sum(r["_n"] for r in rows),
        "buckets": buckets,
    }
    return result, fld


def _range_agg(queryset, body, sub, typed_keys, kind="range"):
    body = _check_keys(kind, body, {"field", "ranges", "keyed", "format", "time_zone"})
    fld = _agg_field(body, kind)
    if kind == "date_range" and fld.kind != "date":
        raise QueryError(f"[date_range] aggregation needs a date field, not [{fld.name}]")
    if fld.kind not in ("date", "json"):
        raise QueryError(f"[{kind}] aggregation needs a date or numeric field, not [{fld.name}]")
    ranges = body.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise QueryError(f"[{kind}] aggregation requires a non-empty [ranges] array")
    buckets = []
    for entry in ranges:
        if not isinstance(entry, Mapping) or set(entry) - {"from", "to", "key"}:
            raise QueryError(f"[{kind}] each range is an object with [from], [to] and optional [key]")
        condition = present(fld)
        bucket: dict[str, Any] = {}
        low = high = None
        if entry.get("from") is not None:
            low = parse_date(entry["from"]) if fld.kind == "date" else _number(kind, entry["from"])
            condition &= Q(**{f"{fld.column}__gte": low})
        if entry.get("to") is not None:
            high = parse_date(entry["to"]) if fld.kind == "date" else _number(kind, entry["to"])
            condition &= Q(**{f"{fld.column}__lt": high})
        bucket["key"] = entry.get("key") or _range_key(low, high)
        if low is not None:
            bucket["from"] = epoch_millis(low) if fld.kind == "date" else low
            if fld.kind == "date":
                bucket["from_as_string"] = iso_timestamp(low)
        if high is not None:
            bucket["to"] = epoch_millis(high) if fld.kind == "date" else high
            if fld.kind == "date":
                bucket["to_as_string"] = iso_timestamp(high)
        subset = queryset.filter(condition)
        bucket["doc_count"] = subset.count()
        buckets.append(_with_sub(subset, bucket, sub, typed_keys))
    if body.get("keyed"):
        return {"buckets": {b.pop("key"): b for b in buckets}}, fld
    return {"buckets": buckets}, fld


def _number(kind: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QueryError(f"[{kind}] aggregation bounds on a non-date field must be numbers, not [{value}]")
    return value


def _range_key(low: Any, high: Any) -> str:
    def text(v: Any) -> str:
        if v is None:
            return "*"
        if isinstance(v, datetime):
            return iso_timestamp(v)
        return str(float(v))

    return f"{text(low)}-{text(high)}"


def _date_range_agg(queryset, body, sub, typed_keys):
    return _range_agg(queryset, body, sub, typed_keys, kind="date_range")


def _missing_agg(queryset, body, sub, typed_keys):
    body = _check_keys("missing", body, {"field"})
    fld = resolve_field(body.get("field"), allow_bare_metadata=True)
    if fld.kind == "object":
        subset = queryset.filter(metadata={})
    elif fld.nullable or fld.kind == "json":
        subset = queryset.filter(~present(fld))
    else:
        subset = queryset.none()
    return _with_sub(subset, {"doc_count": subset.count()}, sub, typed_keys), fld


def _cardinality_agg(queryset, body, sub, typed_keys):
    body = _check_keys("cardinality", body, {"field", "precision_threshold"})
    fld = _agg_field(body, "cardinality")
    value = queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).values("_agg").distinct().count()
    return {"value": value}, fld


def _value_count_agg(queryset, body, sub, typed_keys):
    body = _check_keys("value_count", body, {"field"})
    fld = _agg_field(body, "value_count")
    return {"value": queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).count()}, fld


def _filter_agg(queryset, body, sub, typed_keys):
    subset = queryset.filter(compile_query(body))
    return _with_sub(subset, {"doc_count": subset.count()}, sub, typed_keys), None


def _filters_agg(queryset, body, sub, typed_keys):
    body = _check_keys("filters", body, {"filters", "other_bucket", "other_bucket_key"})
    filters = body.get("filters")
    if isinstance(filters, Mapping):
        named = [(name, compile_query(q)) for name, q in filters.items()]
    elif isinstance(filters, list):
        named = [(None, compile_query(q)) for q in filters]
    else:
        raise QueryError("[filters] aggregation requires [filters] as an object or an array")
    buckets = []
    for name, condition in named:
        subset = queryset.filter(condition)
        bucket = _with_sub(subset, {"doc_count": subset.count()}, sub, typed_keys)
        buckets.append((name, bucket))
    other_key = body.get("other_bucket_key")
    if other_key is not None and not isinstance(other_key, str):
        raise QueryError("[filters] aggregation [other_bucket_key] must be a string")
    if body.get("other_bucket") or other_key:
        rest = queryset
        for _, condition in named:
            rest = rest.exclude(condition)
        buckets.append((other_key or "_other_", _with_sub(rest, {"doc_count": rest.count()}, sub, typed_keys)))
    if isinstance(filters, Mapping):
        return {"buckets": dict(buckets)}, None
    return {"buckets": [b for _, b in buckets]}, None


def _composite_agg(queryset, body, sub, typed_keys):
    body = _check_keys("composite", body, {"sources", "size", "after"})
    sources = body.get("sources")
    if not isinstance(sources, list) or not sources:
        raise QueryError("[composite] aggregation requires a non-empty [sources] array")
    size = body.get("size", 10)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_BUCKETS:
        raise QueryError(f"[composite] [size] must be a positive integer, at most [{MAX_BUCKETS}]")
    names, keys = [], []
    for source in sources:
        if not isinstance(source, Mapping) or len(source) != 1:
            raise QueryError('[composite] each source is {name: {"terms": {"field": ...}}}')
        ((name, spec),) = source.items()
        if not isinstance(spec, Mapping) or set(spec) != {"terms"}:
            raise QueryError("[composite] only [terms] sources are supported")
        terms = _check_keys("terms", spec["terms"], {"field", "order", "missing_bucket"})
        fld = _agg_field(terms, "terms")
        if terms.get("order", "asc") not in ("asc", "desc"):
            raise QueryError("[composite] source order must be [asc] or [desc]")
        names.append(name)
        keys.append(SortKey(fld, terms.get("order", "asc") == "desc"))
    columns = [f"_sort{i}" for i in range(len(keys))]
    grouped = queryset.annotate(**{c: k.field.expression() for c, k in zip(columns, keys, strict=True)})
    for c in columns:
        grouped = grouped.filter(**{f"{c}__isnull": False})
    after = body.get("after")
    if after is not None:
        if not isinstance(after, Mapping) or set(after) != set(names):
            raise QueryError("[composite] [after] must name every source")
        values = [sort_value(k.field, after[n]) for n, k in zip(names, keys, strict=True)]
        grouped = grouped.filter(rows_after(columns, keys, values))
    grouped = grouped.values(*columns).annotate(_n=Count("pk"))
    grouped = grouped.order_by(*[f"-{c}" if k.descending else c for c, k in zip(columns, keys, strict=True)])
    buckets = []
    for row in grouped[:size]:
        key = {}
        for n, c, k in zip(names, columns, keys, strict=True):
            key[n] = _agg_key(k.field, row[c])["key"]
        condition = Q()
        for c, k in zip(columns, keys, strict=True):
            condition &= exact(k.field, row[c])
        buckets.append(_with_sub(queryset.filter(condition), {"key": key, "doc_count": row["_n"]}, sub, typed_keys))
    result: dict[str, Any] = {"buckets": buckets}
    if buckets:
        result["after_key"] = buckets[-1]["key"]
    return result, None


_AGGREGATIONS = {
    "terms": _terms_agg,
    "range": _range_agg,
    "date_range": _date_range_agg,
    "missing": _missing_agg,
    "cardinality": _cardinality_agg,
    "value_count": _value_count_agg,
    "filter": _filter_agg,
    "filters": _filters_agg,
    "composite": _composite_agg,
}
