using System.Diagnostics;
using System.Runtime.CompilerServices;
using DuckDB.NET.Data;

namespace Distill.Bench;

/// <summary>
/// The aggregates of `distill templates stats` in DuckDB SQL over a dataset's shards and reject shards, the reference of
/// <see cref="TemplateStatsBenchmark"/>: per template version, attempted, accepted, verified, self-consistency agreement,
/// tokens, cost, exact duplicates (of the normalized user and assistant text), tool-call validity (arguments a JSON object and
/// no error result), assistant-word length percentiles, rejects by reason, distinct-1 and distinct-2. Not near-duplicates:
/// DuckDB has no MinHash. Kept in its own class so that only calling <see cref="Measure"/> loads DuckDB.NET.
/// </summary>
internal static class DuckDbTemplateStats
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static TemplateStatsBenchmark.Side Measure(string dataset)
    {
        static string Glob(string dir) => Path.Combine(dir, "*.parquet").Replace("'", "''");
        var rejects = Path.Combine(dataset, "rejects");
        var hasRejects = Directory.Exists(rejects) && Directory.EnumerateFiles(rejects, "*.parquet").Any();
        var rows = $"SELECT * FROM read_parquet('{Glob(Path.Combine(dataset, "shards"))}', union_by_name = true)" +
            (hasRejects ? $" UNION ALL BY NAME SELECT * FROM read_parquet('{Glob(rejects)}', union_by_name = true)" : "");
        string[] statements =
        [
            $"SET threads TO {Environment.ProcessorCount}",
            $$"""
            CREATE TEMP TABLE r AS SELECT coalesce(template_id, '-') t, coalesce(template_version, '-') v, {{(hasRejects ? "reject_reason" : "NULL::VARCHAR reject_reason")}},
              verified, verifier, score, prompt_tokens + completion_tokens tokens, cost_usd,
              regexp_replace(lower(array_to_string(list_transform(list_filter(messages, lambda m: m.role IN ('user', 'assistant')),
                lambda m: m.role || ': ' || coalesce(m.content, '') || ' ' || coalesce(array_to_string(list_transform(m.tool_calls, lambda c: c.name || c.arguments), ' '), '')), ' ')), '\s+', ' ', 'g') norm,
              regexp_extract_all(lower(array_to_string(list_transform(list_filter(messages, lambda m: m.role = 'assistant'),
                lambda m: coalesce(m.reasoning, '') || ' ' || coalesce(m.content, '')), ' ')), '[[:alnum:]]+') words,
              list_transform(flatten(list_transform(list_filter(messages, lambda m: m.role = 'assistant'), lambda m: m.tool_calls)),
                lambda c: {'id': c.id, 'ok': coalesce(json_valid(c.arguments) AND json_type(c.arguments) = 'OBJECT', false)}) calls,
              list_transform(list_filter(messages, lambda m: m.role = 'tool' AND (coalesce(m.is_error, false) OR starts_with(ltrim(m.content), '{"error"'))),
                lambda m: m.tool_call_id) failed
            FROM ({{rows}})
            """,
            """
            SELECT t, v, count(*) attempted, count(*) FILTER (reject_reason IS NULL) accepted,
              count(*) FILTER (reject_reason IS NULL AND verified) verified, count(*) FILTER (verified) verified_all, count(verified) checked,
              avg(score) FILTER (verifier = 'self_consistency') agreement, sum(tokens) tokens, sum(cost_usd) cost_usd,
              count(*) - count(DISTINCT md5(norm)) exact_duplicates, sum(len(calls)) tool_calls,
              sum(len(list_filter(calls, lambda c: c.ok AND NOT list_contains(failed, c.id)))) valid_tool_calls,
              quantile_disc(len(words), [0.1, 0.5, 0.9]) FILTER (reject_reason IS NULL) words_p10_p50_p90
            FROM r GROUP BY t, v ORDER BY t, v
            """,
            "SELECT t, v, reject_reason, count(*) FROM r WHERE reject_reason IS NOT NULL GROUP BY ALL ORDER BY t, v, 4 DESC",
            "SELECT t, v, count(DISTINCT w)::DOUBLE / count(*) distinct1 FROM (SELECT t, v, unnest(words) w FROM r WHERE reject_reason IS NULL) GROUP BY t, v",
            """
            SELECT t, v, count(DISTINCT g)::DOUBLE / count(*) distinct2 FROM (SELECT t, v,
              unnest(list_transform(range(1, len(words)), lambda i: words[i] || ' ' || words[i + 1])) g FROM r WHERE reject_reason IS NULL) GROUP BY t, v
            """,
        ];

        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        var watch = Stopwatch.StartNew();
        var cpu = DatasetBenchmark.CpuSeconds();
        var results = new List<object[]>();
        foreach (var sql in statements)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var values = new object[reader.FieldCount];
                reader.GetValues(values);
                results.Add(values);
            }
        }
        var (seconds, cpuSeconds) = (watch.Elapsed.TotalSeconds, DatasetBenchmark.CpuSeconds() - cpu);
        // Rows of the result sets, in statement order: the totals (one version), its reject reasons, distinct-1, distinct-2.
        var totals = results[0];
        return new TemplateStatsBenchmark.Side(seconds, cpuSeconds, Count(totals[2]), Count(totals[3]), Count(totals[12]),
            Convert.ToDouble(results[^2][2]), Convert.ToDouble(results[^1][2]));
    }

    /// <summary>A count as DuckDB returns it: BIGINT for count(*), HUGEINT (a BigInteger) for sum() of integers.</summary>
    private static long Count(object value) => value is System.Numerics.BigInteger big ? (long)big : Convert.ToInt64(value);
}
