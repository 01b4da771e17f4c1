using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Distill.Core.Samples;
using Distill.Teachers;

namespace Distill.Generation.Runner;

/// <summary>Reparse asked for a response that was never cached: the sample cannot be re-derived without calling the teacher.</summary>
public sealed class NotCachedException(string teacher)
    : TeacherException(teacher, "no cached teacher response for this request (--reparse never calls the teacher)", "run without --reparse to generate it")
{
    public const string Reason = "not_cached";
    public override string RejectReason => Reason;
}

/// <summary>
/// Keeps every raw teacher response on disk, keyed by a SHA-256 of the full request (messages, tools, tool choice, sampling
/// parameters, stop, logprobs), the teacher's provider and model, and the template version. A repeated request is answered from
/// disk; a changed template or parameter changes the key, so a stale response is never reused. With <c>reparseOnly</c> a miss
/// is a <see cref="NotCachedException"/> instead of a call. Files are written to a temp name and renamed (crash-safe).
/// </summary>
public sealed class CachingTeacher(ITeacher inner, string directory, string templateVersion, bool reparseOnly = false) : ITeacher
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private int _calls, _hits;

    public string Name => inner.Name;
    public TeacherInfo Info => inner.Info;

    /// <summary>Usage and cost of the calls that went to the teacher (cache hits cost nothing): the budget's measure.</summary>
    public UsageMeter Meter { get; } = new();

    /// <summary>Requests that went to the teacher.</summary>
    public int TeacherCalls => _calls;

    /// <summary>Requests answered from the cache.</summary>
    public int CacheHits => _hits;

    public string KeyOf(TeacherRequest request)
    {
        var payload = JsonSerializer.Serialize(new { provider = Info.Provider, model = Info.Model, templateVersion, request }, Json);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payload)));
    }

    public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(request);
        var path = Path.Combine(directory, key[..2], key + ".json");
        if (File.Exists(path))
        {
            try
            {
                await using var stream = File.OpenRead(path);
                if (await JsonSerializer.DeserializeAsync<TeacherResponse>(stream, Json, cancellationToken).ConfigureAwait(false) is { } cached)
                {
                    Interlocked.Increment(ref _hits);
                    return cached;
                }
            }
            catch (JsonException)
            {
                // A damaged entry is treated as a miss and overwritten.
            }
        }
        if (reparseOnly) throw new NotCachedException(Name);

        Interlocked.Increment(ref _calls);
        var response = await inner.CompleteAsync(request, cancellationToken).ConfigureAwait(false);
        Meter.Record(response);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(response, Json), CancellationToken.None).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
        return response;
    }
}
