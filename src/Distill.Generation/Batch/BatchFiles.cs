using System.Text;

namespace Distill.Generation.Batch;

/// <summary>Splits request lines into upload files within the provider's per-file limits.</summary>
public static class BatchFiles
{
    /// <summary>
    /// Consecutive runs of <paramref name="lines"/>, each with at most <paramref name="maxRequests"/> lines and at most
    /// <paramref name="maxBytes"/> bytes of UTF-8 (a newline after every line). A single line over the byte limit is a file of its own
    /// (the provider rejects it, and its sample with it).
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> Split(IReadOnlyList<string> lines, int maxRequests, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRequests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        var files = new List<IReadOnlyList<string>>();
        var current = new List<string>();
        long bytes = 0;
        foreach (var line in lines)
        {
            var size = Encoding.UTF8.GetByteCount(line) + 1;
            if (current.Count > 0 && (current.Count == maxRequests || bytes + size > maxBytes))
            {
                files.Add(current);
                current = [];
                bytes = 0;
            }
            current.Add(line);
            bytes += size;
        }
        if (current.Count > 0) files.Add(current);
        return files;
    }

    /// <summary>The JSONL bytes of one file.</summary>
    public static byte[] Content(IEnumerable<string> lines)
    {
        var sb = new StringBuilder();
        foreach (var line in lines) sb.Append(line).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
