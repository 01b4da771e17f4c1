using System.Text.Json;
using Distill.Core.Samples;

namespace Distill.Data.Tests;

/// <summary>A fresh temp folder per test, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => System.IO.Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "distill-data-tests", Guid.NewGuid().ToString("N"));
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);
    public void Dispose()
    {
        try { System.IO.Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

public static class Samples
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Deep, order-sensitive representation for equality (records compare lists by reference).</summary>
    public static string Canonical(Sample s) => JsonSerializer.Serialize(s, Json);

    /// <summary>Equal as the store reads them back: logprobs at the default float16 precision (see <see cref="Stored"/>).</summary>
    public static void Equal(IEnumerable<Sample> expected, IEnumerable<Sample> actual) =>
        Assert.Equal(expected.Select(AsStored).Select(Canonical).ToArray(), actual.Select(Canonical).ToArray());

    /// <summary>The value a logprob reads back as from a compact shard at the default precision: rounded to float16.</summary>
    public static double Stored(double logprob) => (float)(Half)logprob;

    /// <summary>The sample with every logprob rounded as a compact shard stores it.</summary>
    public static Sample AsStored(Sample s) => s with
    {
        Messages = s.Messages.Select(m => m with
        {
            Logprobs = m.Logprobs.Select(t => t with
            {
                Logprob = Stored(t.Logprob),
                Top = t.Top.Select(x => x with { Logprob = Stored(x.Logprob) }).ToArray(),
            }).ToArray(),
        }).ToArray(),
    };

    /// <summary>A sample exercising nulls and edge values: no teacher, no params, empty lists, unicode, null content.</summary>
    public static Sample Sparse(string id, string kind = SampleKinds.Instruction) => new()
    {
        Id = id,
        Kind = kind,
        Messages = [ChatMessage.User("héllo ✓ \"quoted\"\nline"), ChatMessage.Assistant(null)],
        CreatedAt = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1230),
    };

    public static List<Sample> ToolTraces(int count, int seed = 1, int topK = 3) =>
        Distill.Data.Synthetic.SyntheticSamples.ToolTraces(count, seed, topK).ToList();

    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}
