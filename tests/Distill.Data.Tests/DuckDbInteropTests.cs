using System.Globalization;
using Distill.Core.Samples;
using Distill.Data.Storage;
using DuckDB.NET.Data;

namespace Distill.Data.Tests;

/// <summary>Shards must read the same in other tools: DuckDB stands in for Spark, pandas and HF datasets.</summary>
public class DuckDbInteropTests
{
    // The tests below write the nested layout (schema version 2); CompactDuckDbTests covers the compact one.
    private static string Str(object? v) => v switch
    {
        null or DBNull => "null",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "null",
    };

    private static List<string> Query(string sql)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => Str(reader.GetValue(i)))));
        return rows;
    }

    private static string N(object? v) => Str(v);

    [Fact]
    public async Task DuckDB_reads_a_shard_with_the_same_rows_and_nested_columns()
    {
        using var tmp = new TempDir();
        var input = Samples.ToolTraces(5, seed: 3, topK: 4);
        input.Add(Samples.Sparse("zz-sparse"));
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { RowGroupRows = 2, Format = ShardFormat.Nested }))
            foreach (var s in input)
                await writer.AppendAsync(s);
        string shard = Assert.Single(DatasetReader.Open(tmp.Path).ShardPaths);
        string from = $"read_parquet('{shard}')";
        var sorted = input.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();

        // Top-level columns.
        Assert.Equal(
            sorted.Select(s => string.Join(" | ", s.Id, s.Kind, N(s.Tools), N(s.Answer), N(s.TemplateId), N(s.Teacher?.Model),
                N(s.Teacher?.TokenizerId), N(s.Params?.Temperature), N(s.Params?.Seed), N(s.Params?.MaxTokens), N(s.Verified),
                N(s.Score), N(s.PromptTokens), N(s.CompletionTokens), N(s.CostUsd), N((s.CreatedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10),
                N(s.PrivilegedContextUsed), N(s.Messages.Count))),
            Query($"""
                SELECT id, kind, tools, answer, template_id, teacher_model, teacher_tokenizer_id, temperature, seed, max_tokens, verified,
                       score, prompt_tokens, completion_tokens, cost_usd, epoch_us(created_at), privileged_context_used,
                       len(messages)
                FROM {from} ORDER BY id
                """));

        // messages, unnested with their position.
        Assert.Equal(
            sorted.SelectMany(s => s.Messages.Select((m, i) => string.Join(" | ", s.Id, N(i + 1), m.Role, N(m.Content), N(m.Reasoning),
                N(m.ToolCallId), N(m.Name), N(m.ToolCalls.Count), N(m.Logprobs.Count)))),
            Query($"""
                SELECT id, i, m.role, m.content, m.reasoning, m.tool_call_id, m.name, len(m.tool_calls), len(m.logprobs)
                FROM (SELECT id, generate_subscripts(messages, 1) AS i, unnest(messages) AS m FROM {from})
                ORDER BY id, i
                """));

        // messages[].tool_calls, unnested twice.
        Assert.Equal(
            sorted.SelectMany(s => s.Messages.SelectMany((m, i) => m.ToolCalls.Select((c, j) =>
                string.Join(" | ", s.Id, N(i + 1), N(j + 1), c.Id, c.Name, c.Arguments)))),
            Query($"""
                SELECT id, i, j, c.id, c.name, c.arguments
                FROM (SELECT id, i, generate_subscripts(m.tool_calls, 1) AS j, unnest(m.tool_calls) AS c
                      FROM (SELECT id, generate_subscripts(messages, 1) AS i, unnest(messages) AS m FROM {from}))
                ORDER BY id, i, j
                """));

        // messages[].logprobs (every assistant turn's, tool-call turns included) and their top-k alternatives, unnested three times.
        Assert.Contains(input, s => s.Messages.Any(m => m.ToolCalls.Count > 0 && m.Logprobs.Count > 0));
        Assert.Equal(
            sorted.SelectMany(s => s.Messages.SelectMany((m, i) => m.Logprobs.SelectMany((t, k) => t.Top.Select((x, j) =>
                string.Join(" | ", s.Id, N(i + 1), N(k + 1), t.Token, N(t.TokenId), N(t.Logprob), N(j + 1), x.Token, N(x.TokenId), N(x.Logprob)))))),
            Query($"""
                SELECT id, i, k, lp.token, lp.token_id, lp.logprob, j, x.token, x.token_id, x.logprob
                FROM (SELECT id, i, k, lp, generate_subscripts(lp.top, 1) AS j, unnest(lp.top) AS x
                      FROM (SELECT id, i, generate_subscripts(m.logprobs, 1) AS k, unnest(m.logprobs) AS lp
                            FROM (SELECT id, generate_subscripts(messages, 1) AS i, unnest(messages) AS m FROM {from})))
                ORDER BY id, i, k, j
                """));

        // Per-sample totals without unnesting, as `bench dataset` scans them.
        Assert.Equal(sorted.Select(s => $"{s.Id} | {N(s.Messages.Sum(m => m.Logprobs.Count))}"),
            Query($"SELECT id, list_sum(list_transform(messages, lambda m: len(m.logprobs))) FROM {from} ORDER BY id"));
    }

    [Fact]
    public async Task DuckDB_reads_the_sparse_sample_nulls_as_nulls()
    {
        using var tmp = new TempDir();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { Format = ShardFormat.Nested }))
            await writer.AppendAsync(Samples.Sparse("only") with { Kind = SampleKinds.Dialogue });
        string shard = Assert.Single(DatasetReader.Open(tmp.Path).ShardPaths);

        Assert.Equal(["only | dialogue | null | null | null | null | 0 | 0"],
            Query($"SELECT id, kind, teacher_provider, temperature, verified, messages[2].content, len(messages[2].tool_calls), len(messages[2].logprobs) FROM read_parquet('{shard}')"));
    }
}
