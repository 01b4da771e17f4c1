using System.Collections;
using System.Globalization;
using Distill.Core.Samples;
using Distill.Data.Storage;
using DuckDB.NET.Data;

namespace Distill.Data.Tests;

/// <summary>Compact shards read the same in DuckDB (standing in for Spark, pandas and HF datasets): every column, value for value.</summary>
public class CompactDuckDbTests
{
    private static string Str(object? v) => v switch
    {
        null or DBNull => "null",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        string s => s,
        IEnumerable e => "[" + string.Join(",", e.Cast<object?>().Select(Str)) + "]",
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

    // DuckDB.NET cannot hand a list holding nulls to .NET as object, so those lists come back as text, null as "null".
    private static string NullsAsText(string column) => $"list_transform({column}, lambda x: coalesce(x::VARCHAR, 'null'))";

    private static string List<T>(IEnumerable<T> items) => Str(items.Cast<object?>().ToList());

    [Fact]
    public async Task DuckDB_reads_every_compact_column_with_our_values()
    {
        using var tmp = new TempDir();
        var input = Samples.ToolTraces(3, seed: 3, topK: 4);
        input.AddRange(CompactFormatTests.Mixed());
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { RowGroupRows = 2 }))
            foreach (var s in input)
                await writer.AppendAsync(s);
        string shard = Assert.Single(DatasetReader.Open(tmp.Path).ShardPaths);
        string from = $"read_parquet('{shard}', file_row_number = true)";
        var ours = await DatasetReader.Open(tmp.Path).ReadSamplesAsync().ToListAsync();
        Assert.Equal(input.Select(s => s.Id), ours.Select(s => s.Id));

        // Top-level columns, in file order.
        Assert.Equal(
            ours.Select(s => string.Join(" | ", s.Id, s.Kind, Str(s.Tools), Str(s.Answer), Str(s.Rationale), Str(s.TemplateId), Str(s.TemplateVersion),
                Str(s.Recipe), Str(s.Teacher?.Provider), Str(s.Teacher?.Model), Str(s.Teacher?.TokenizerId), Str(s.Params?.Temperature), Str(s.Params?.TopP),
                Str(s.Params?.Seed), Str(s.Params?.MaxTokens), Str(s.SeedInput), Str((s.CreatedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10),
                Str(s.PrivilegedContextUsed), Str(s.Verified), Str(s.Verifier), Str(s.Score), Str(s.PromptTokens), Str(s.CompletionTokens),
                Str(s.CostUsd), Str(s.LatencyMs))),
            Query($"""
                SELECT id, kind, tools, answer, rationale, template_id, template_version, recipe, teacher_provider, teacher_model,
                       teacher_tokenizer_id, temperature, top_p, seed, max_tokens, seed_input, epoch_us(created_at), privileged_context_used,
                       verified, verifier, score, prompt_tokens, completion_tokens, cost_usd, latency_ms
                FROM {from} ORDER BY file_row_number
                """));

        // messages and their tool calls, unnested with positions.
        Assert.Equal(
            ours.SelectMany(s => s.Messages.Select((m, i) => string.Join(" | ", s.Id, Str(i + 1), m.Role, Str(m.Content), Str(m.Reasoning),
                Str(m.ToolCallId), Str(m.Name), Str(m.LogprobProvenance?.Temperature), Str(m.LogprobProvenance?.TopP), Str(m.LogprobProvenance?.TopK),
                Str(m.LogprobProvenance?.Raw), m.IsError ? "True" : "null", List(m.ToolCalls.Select(c => $"{c.Id}/{c.Name}/{c.Arguments}"))))),
            Query($"""
                SELECT id, i, m.role, m.content, m.reasoning, m.tool_call_id, m.name, m.logprobs_temperature, m.logprobs_top_p, m.logprobs_top_k,
                       m.logprobs_raw, m.is_error, list_transform(m.tool_calls, lambda c: c.id || '/' || c.name || '/' || c.arguments)
                FROM (SELECT id, file_row_number, generate_subscripts(messages, 1) AS i, unnest(messages) AS m FROM {from})
                ORDER BY file_row_number, i
                """));

        // The eight logprob columns, row by row; token text as the writer stores it (null where the footer's vocabulary has it).
        var vocabulary = new TokenVocabulary();
        var expected = new List<string>();
        foreach (var s in ours)
        {
            var tokens = s.Messages.SelectMany(m => m.Logprobs).ToList();
            var texts = new List<string?>();
            var topTexts = new List<string?>();
            foreach (var t in tokens)
            {
                texts.Add(vocabulary.TextToStore(t.TokenId, t.Token));
                foreach (var x in t.Top) topTexts.Add(vocabulary.TextToStore(x.TokenId, x.Token));
            }
            var messageOffsets = new List<int> { 0 };
            foreach (var m in s.Messages) messageOffsets.Add(messageOffsets[^1] + m.Logprobs.Count);
            var topOffsets = new List<int> { 0 };
            foreach (var t in tokens) topOffsets.Add(topOffsets[^1] + t.Top.Count);
            var top = tokens.SelectMany(t => t.Top).ToList();
            // The alternatives' column holds gaps: each token's first logprob, then each one's distance below the one before.
            var gaps = new List<float>();
            foreach (var t in tokens)
            {
                var stored = new float[t.Top.Count];
                LogprobGaps.Encode(t.Top.Select(x => (float)x.Logprob).ToArray(), stored, LogprobPrecision.Float16);
                gaps.AddRange(stored);
            }
            expected.Add(string.Join(" | ", s.Id, List(messageOffsets), List(tokens.Select(t => t.TokenId)), List(texts),
                List(tokens.Select(t => (float)t.Logprob)), List(topOffsets), List(top.Select(x => x.TokenId)), List(topTexts),
                List(gaps)));
        }
        Assert.Equal(expected, Query($"""
            SELECT id, lp_message_offsets, {NullsAsText("lp_token_ids")}, {NullsAsText("lp_tokens")}, lp_logprobs, lp_top_offsets,
                   {NullsAsText("lp_top_token_ids")}, {NullsAsText("lp_top_tokens")}, lp_top_logprob_gaps
            FROM {from} ORDER BY file_row_number
            """));

        // How a DuckDB user gets the alternatives' logprobs back from the gaps (sorted alternatives: the first value minus the
        // running sum of the gaps after it). Ours rounds every step to float16, so the two agree within float16 rounding.
        var decoded = Query($"""
            SELECT list_transform(range(1, len(g) + 1), lambda i: g[1] - coalesce(list_sum(list_slice(g, 2, i)), 0))
            FROM (SELECT t, list_slice(lp_top_logprob_gaps, lp_top_offsets[t] + 1, lp_top_offsets[t + 1]) AS g
                  FROM (SELECT lp_top_logprob_gaps, lp_top_offsets, unnest(range(1, len(lp_top_offsets))) AS t FROM {from} WHERE id = '{ours[0].Id}'))
            ORDER BY t
            """).Select(row => row.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var oursTop = ours[0].Messages.SelectMany(m => m.Logprobs).Select(t => t.Top.Select(x => x.Logprob).ToArray()).ToList();
        Assert.Equal(oursTop.Select(t => t.Length), decoded.Select(t => t.Length));
        for (int t = 0; t < oursTop.Count; t++)
            for (int k = 0; k < oursTop[t].Length; k++)
                Assert.True(Math.Abs(decoded[t][k] - oursTop[t][k]) <= Math.Abs(oursTop[t][k]) / 1024 + 1e-6, $"token {t} alternative {k}: DuckDB {decoded[t][k]}, ours {oursTop[t][k]}");

        // The footer's vocabulary is readable too, and is the one the writer built.
        Assert.Equal([vocabulary.ToJson()], Query($"SELECT decode(value) FROM parquet_kv_metadata('{shard}') WHERE decode(key) = '{CompactSchema.VocabularyKey}'"));

        // How a DuckDB user gets message i's tokens: slice the flat lists by the offsets (1-based, inclusive).
        var traced = ours[0];
        int last = traced.Messages.Count - 1;
        Assert.Equal([List(traced.Messages[last].Logprobs.Select(t => t.TokenId))], Query($"""
            SELECT {NullsAsText($"list_slice(lp_token_ids, lp_message_offsets[{last + 1}] + 1, lp_message_offsets[{last + 2}])")}
            FROM {from} WHERE id = '{traced.Id}'
            """));
    }
}
