using Distill.Core.Samples;
using Distill.Data.Storage;
using Parquet;

namespace Distill.Data.Tests;

/// <summary>Schema versions 3 and 4: logprobs in flat row-level columns, token text only where the id does not give it.</summary>
public class CompactFormatTests
{
    private static TokenLogprob Token(string text, int? id, double logprob, params (string Text, int? Id, double Logprob)[] top) =>
        new(text, id, logprob, top.Select(t => new TopLogprob(t.Text, t.Id, t.Logprob)).ToArray());

    /// <summary>Local-teacher ids, a foreign tokenizer (no ids), one id decoded two ways, 0/1/3 alternatives, turns without logprobs.</summary>
    public static List<Sample> Mixed() =>
    [
        new()
        {
            Id = "a",
            Kind = SampleKinds.ToolTrace,
            Messages =
            [
                ChatMessage.User("where is A1003?"),
                ChatMessage.Assistant(null, [new ToolCall("c1", "lookup_order", """{"order_id":"A1003"}"""), new ToolCall("c2", "track", "{}")],
                    logprobs: [Token("<tool_call>", 7, -0.01, ("<tool_call>", 7, -0.01), (" I", 8, -4.6), ("Sure", 9, -5.3)), Token("{", 10, -0.002)],
                    logprobProvenance: new LogprobProvenance(0.7, null, 3, Raw: true)),
                ChatMessage.Tool("c1", "lookup_order", """{"status":"shipped"}""", isError: true),
                ChatMessage.Assistant("It shipped.", logprobs: [Token("It", 11, -0.3, ("It", 11, -0.3)), Token(" shipped", 12, -1.25, (" shipped", 12, -1.25), ("x", 7, -3))]),
            ],
            CreatedAt = new DateTimeOffset(2026, 12, 3, 1, 2, 3, TimeSpan.Zero),
        },
        Samples.Sparse("b"),
        new()
        {
            Id = "c",
            Kind = SampleKinds.Instruction,
            Messages = [ChatMessage.User("hi"), ChatMessage.Assistant("héllo", logprobs: [Token("h", null, -0.5), Token("éllo", null, double.NegativeInfinity)])],
            Teacher = new TeacherInfo("azure-openai", "gpt-4o", null),
            CreatedAt = new DateTimeOffset(2026, 12, 3, 1, 2, 4, TimeSpan.Zero),
        },
        new() { Id = "d", Kind = SampleKinds.Dialogue, Messages = [], CreatedAt = new DateTimeOffset(2026, 12, 3, 1, 2, 5, TimeSpan.Zero) },
    ];

    /// <summary>The mixed samples in row groups of 2, and the first one again as a reject (id "r", reason "verifier_failed").</summary>
    private static async Task WriteMixedAsync(string folder, List<Sample> input)
    {
        await using var writer = await DatasetWriter.OpenAsync(folder, new DatasetWriterOptions { RowGroupRows = 2 });
        foreach (var s in input) await writer.AppendAsync(s);
        await writer.RejectAsync(new RejectedSample(input[0] with { Id = "r" }, "verifier_failed"));
    }

    [Fact]
    public async Task A_read_without_logprobs_returns_the_same_samples_with_no_logprobs_on_any_message()
    {
        using var tmp = new TempDir();
        var input = Mixed();
        await WriteMixedAsync(tmp.Path, input);
        var reader = DatasetReader.Open(tmp.Path);
        static Sample WithoutLogprobs(Sample s) => s with { Messages = s.Messages.Select(m => m with { Logprobs = [] }).ToArray() };

        var samples = new List<Sample>();
        foreach (var file in reader.ShardPaths) samples.AddRange(await DatasetReader.ReadFileAsync(file, withLogprobs: false).ToListAsync());
        var reject = Assert.Single(await DatasetReader.ReadRejectsFileAsync(Assert.Single(reader.RejectPaths), withLogprobs: false).ToListAsync());

        Assert.Contains(input, s => s.Messages.Any(m => m.Logprobs.Count > 0));
        Samples.Equal(input.Select(WithoutLogprobs).ToList(), samples);
        Assert.Equal("verifier_failed", reject.RejectReason);
        Samples.Equal([WithoutLogprobs(input[0] with { Id = "r" })], [reject.Sample]);
    }

    [Fact]
    public async Task Samples_and_rejects_round_trip_through_compact_shards_across_row_groups()
    {
        using var tmp = new TempDir();
        var input = Mixed();
        await WriteMixedAsync(tmp.Path, input);

        var reader = DatasetReader.Open(tmp.Path);
        Samples.Equal(input, await reader.ReadSamplesAsync().ToListAsync());
        var reject = Assert.Single(await reader.ReadRejectsAsync().ToListAsync());
        Assert.Equal("verifier_failed", reject.RejectReason);
        Samples.Equal([input[0] with { Id = "r" }], [reject.Sample]);
        Assert.Equal(DatasetSchema.Version, reader.Manifest.SchemaVersion);
        // The validator reads compact shards too: its only complaint is the sample without messages.
        var report = await DatasetValidator.ValidateAsync(tmp.Path);
        Assert.Equal(["d"], report.Problems.Select(p => p.SampleId).Distinct());
        foreach (var path in reader.ShardPaths.Concat(reader.RejectPaths))
            Assert.Equal(CompactSchema.Version, await ParquetShards.LayoutVersionAsync(path, path.Contains("rejects"), CancellationToken.None));
    }

    [Fact]
    public async Task A_shard_of_several_row_groups_reads_back_every_row_in_order()
    {
        // 3 row groups of 20, 20 and 5 rows: the writer shapes one while it writes the one before, and the reader builds and
        // hands out SliceRows (1) rows at a time, so the handover falls inside row groups.
        using var tmp = new TempDir();
        var input = Samples.ToolTraces(45, seed: 9, topK: 4);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { RowGroupRows = 20 }))
            foreach (var s in input) await writer.AppendAsync(s);

        var path = Assert.Single(DatasetReader.Open(tmp.Path).ShardPaths);
        var (fs, parquet) = await ParquetShards.OpenAsync(path, false, CancellationToken.None);
        await using (fs)
        await using (parquet)
            Assert.Equal(3, parquet.RowGroupCount);
        var batches = await ParquetShards.ReadSamplesAsync(path, false, CancellationToken.None).ToListAsync();
        Assert.Equal(45, batches.Count);
        Assert.All(batches, b => Assert.Single(b)); // one row per batch (SliceRows)
        Samples.Equal(input, batches.SelectMany(b => b.Select(x => x.Sample)).ToList());
    }

    [Fact]
    public async Task Shards_written_one_after_another_on_pooled_buffers_hold_only_their_own_rows()
    {
        // The writer's column buffers go back to the shared pool after each shard: a small shard written after a large one must
        // not pick up the large one's values beyond its own counts, and two writers at once must not share a buffer.
        var large = Samples.ToolTraces(60, seed: 11, topK: 8);
        var small = Samples.ToolTraces(3, seed: 12, topK: 2);
        var other = Samples.ToolTraces(25, seed: 13, topK: 5);
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        await WriteAsync(a.Path, large);
        await Task.WhenAll(WriteAsync(b.Path, small), WriteAsync(c.Path, other));

        Samples.Equal(large, await DatasetReader.Open(a.Path).ReadSamplesAsync().ToListAsync());
        Samples.Equal(small, await DatasetReader.Open(b.Path).ReadSamplesAsync().ToListAsync());
        Samples.Equal(other, await DatasetReader.Open(c.Path).ReadSamplesAsync().ToListAsync());

        static async Task WriteAsync(string folder, IReadOnlyList<Sample> samples)
        {
            await using var writer = await DatasetWriter.OpenAsync(folder, new DatasetWriterOptions { ShardRows = 20, RowGroupRows = 8 });
            foreach (var s in samples) await writer.AppendAsync(s);
        }
    }

    [Fact]
    public async Task The_footer_holds_the_version_precision_and_each_known_ids_text_once()
    {
        using var tmp = new TempDir();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path)) foreach (var s in Mixed()) await writer.AppendAsync(s);

        await using var parquet = await ParquetReader.CreateAsync(Assert.Single(DatasetReader.Open(tmp.Path).ShardPaths));
        Assert.Equal("4", parquet.CustomMetadata[CompactSchema.SchemaVersionKey]);
        Assert.Equal("float16", parquet.CustomMetadata[CompactSchema.PrecisionKey]);
        var vocabulary = TokenVocabulary.FromJson(parquet.CustomMetadata[CompactSchema.VocabularyKey]);
        // Ids 7-12 in sample a; sample c's tokens have no ids. Id 7 keeps its first text; "x" for id 7 is stored in the row.
        Assert.Equal(6, vocabulary.Count);
        Assert.Equal("<tool_call>", vocabulary.TextOf(7, null));
    }

    [Fact]
    public async Task Float32_precision_keeps_float32_values()
    {
        using var tmp = new TempDir();
        var s = Mixed()[0];
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { LogprobPrecision = LogprobPrecision.Float32 }))
            await writer.AppendAsync(s);

        var read = Assert.Single(await DatasetReader.Open(tmp.Path).ReadSamplesAsync().ToListAsync());
        Assert.Equal((double)-4.6f, read.Messages[1].Logprobs[0].Top[1].Logprob);
        Assert.NotEqual(Samples.Stored(-4.6), read.Messages[1].Logprobs[0].Top[1].Logprob);
    }

    [Fact]
    public async Task Version_3_and_version_4_shards_of_one_dataset_read_the_same_values()
    {
        using var tmp = new TempDir();
        var input = Mixed();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { Format = ShardFormat.CompactV3, RowGroupRows = 2 }))
            foreach (var s in input) await writer.AppendAsync(s);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { RowGroupRows = 2 }))
            foreach (var s in input) await writer.AppendAsync(s with { Id = s.Id + "4" });

        var reader = DatasetReader.Open(tmp.Path);
        Assert.Equal(new[] { 3, 4 }, await Task.WhenAll(reader.ShardPaths.Select(p => ParquetShards.LayoutVersionAsync(p, false, CancellationToken.None))));
        var read = await reader.ReadSamplesAsync().ToListAsync();
        Samples.Equal(input, read.Take(input.Count));
        Samples.Equal(input, read.Skip(input.Count).Select(s => s with { Id = s.Id[..^1] }));
        // Version 4 files are zstd-compressed and have the gap column instead of the logprobs.
        await using var v4 = await ParquetReader.CreateAsync(reader.ShardPaths[1]);
        Assert.Contains(v4.Schema.Fields, f => f.Name == CompactSchema.TopLogprobGaps);
        Assert.DoesNotContain(v4.Schema.Fields, f => f.Name == CompactSchema.TopLogprobs);
        using var group = v4.OpenRowGroupReader(0);
        Assert.Equal(Parquet.Meta.CompressionCodec.ZSTD, group.GetMetadata(v4.Schema.GetDataFields()[0])!.MetaData!.Codec);
    }

    [Fact]
    public async Task A_nested_dataset_resumed_by_the_compact_writer_reads_as_one()
    {
        using var tmp = new TempDir();
        var input = Samples.ToolTraces(4, seed: 5, topK: 3);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { Format = ShardFormat.Nested }))
            foreach (var s in input.Take(2)) await writer.AppendAsync(s);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
            foreach (var s in input) await writer.AppendAsync(s);

        var reader = DatasetReader.Open(tmp.Path);
        Assert.Equal(new[] { 2, 4 }, await Task.WhenAll(reader.ShardPaths.Select(p => ParquetShards.LayoutVersionAsync(p, false, CancellationToken.None))));
        // The nested shard keeps full precision; the compact one float16.
        var read = await reader.ReadSamplesAsync().ToListAsync();
        Assert.Equal(input.Take(2).Select(Samples.Canonical), read.Take(2).Select(Samples.Canonical));
        Samples.Equal(input.Skip(2), read.Skip(2));
    }
}
