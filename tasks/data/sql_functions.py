"""The functions a data task's query may call: aggregates, arithmetic, text, dates, conditionals, casts.

Two lists, because the parser (sqlglot) reads a function it knows into a typed
node and one it does not know into an ``Anonymous`` node with the name as written:

- :data:`ALLOWED_TYPES`: the typed nodes allowed on every dialect. The SQL that
  runs is regenerated from the tree, so each runs as the dialect's own spelling
  of that function (``now()`` runs as ``CURRENT_TIMESTAMP``).
- :data:`ALLOWED_BY_NAME`: per dialect, the names allowed among functions the
  parser does not know.

Everything else is refused by name, in particular what reaches outside the
query: ``dblink*``, ``pg_read_file``, ``pg_read_binary_file``, ``pg_ls_dir``,
``pg_stat_file``, ``lo_*``, ``query_to_*``, ``set_config``, ``current_setting``,
``pg_sleep``, ``nextval``/``setval``, ``load_extension``, ``readfile``/``writefile``,
and any function a database or extension adds. Widening a list is a security
decision: add only functions that read their arguments and nothing else.
"""

from __future__ import annotations

from sqlglot import exp

_AGGREGATES = (
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Median, exp.Mode, exp.Stddev, exp.StddevSamp,
    exp.StddevPop, exp.Variance, exp.VariancePop, exp.PercentileCont, exp.PercentileDisc, exp.Corr,
    exp.CovarPop, exp.CovarSamp, exp.LogicalAnd, exp.LogicalOr, exp.GroupConcat, exp.ArrayAgg,
)
_WINDOW = (
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile, exp.Lag, exp.Lead,
    exp.FirstValue, exp.LastValue, exp.NthValue,
)
_ARITHMETIC = (
    exp.Abs, exp.Ceil, exp.Floor, exp.Round, exp.Trunc, exp.Sqrt, exp.Cbrt, exp.Pow, exp.Exp, exp.Ln, exp.Log,
    exp.Sign, exp.Greatest, exp.Least, exp.Pi, exp.Degrees, exp.Radians, exp.WidthBucket,
)
_TEXT = (
    exp.Lower, exp.Upper, exp.Length, exp.Trim, exp.Substring, exp.Replace, exp.Concat, exp.ConcatWs, exp.Left,
    exp.Right, exp.Pad, exp.StrPosition, exp.SplitPart, exp.Initcap, exp.Reverse, exp.Repeat, exp.Translate,
    exp.RegexpReplace, exp.RegexpLike, exp.StartsWith, exp.Chr, exp.Unicode, exp.Hex, exp.MD5,
)
_DATES = (
    exp.CurrentDate, exp.CurrentTime, exp.CurrentTimestamp, exp.Localtimestamp, exp.TimestampTrunc, exp.DateTrunc,
    exp.Extract, exp.TimeToStr, exp.StrToDate, exp.StrToTime, exp.UnixToTime, exp.TsOrDsToTimestamp, exp.Date,
    exp.TimestampFromParts, exp.MakeInterval, exp.JustifyDays, exp.DateBin, exp.ToNumber,
)
_CONDITIONAL = (exp.Coalesce, exp.Nullif, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Typeof, exp.Exists)
_ROWS = (exp.Array, exp.ExplodingGenerateSeries, exp.GenerateSeries, exp.Explode, exp.ArraySize)

ALLOWED_TYPES: frozenset[type[exp.Func]] = frozenset(
    (*_AGGREGATES, *_WINDOW, *_ARITHMETIC, *_TEXT, *_DATES, *_CONDITIONAL, *_ROWS))

ALLOWED_BY_NAME: dict[str, frozenset[str]] = {
    "postgres": frozenset({
        "every", "octet_length", "bit_length", "ascii", "btrim", "regexp_match", "regexp_split_to_array",
        "age", "make_date", "make_time", "date_part", "isfinite", "justify_hours", "justify_interval",
        "to_timestamp", "timezone", "cardinality", "array_to_string", "string_to_array", "num_nulls",
        "num_nonnulls", "regr_intercept", "regr_r2", "regr_count", "mod", "div", "scale", "gcd", "lcm",
    }),
    "sqlite": frozenset({
        "total", "time", "datetime", "julianday", "unixepoch", "printf", "format", "instr", "ifnull", "iif",
        "likely", "unlikely", "mod", "ltrim", "rtrim",
    }),
}
