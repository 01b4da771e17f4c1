using System.Globalization;
using Distill.Core.Errors;

namespace Distill.Generation.Runner;

/// <summary>
/// Which slice of the tasks this worker owns (<c>--shard i/n</c>): every n-th task from i. Given explicitly, or, when
/// <c>--shard</c> is left out, from a Kubernetes Indexed Job's environment: <see cref="IndexVariable"/> (set by Kubernetes on
/// every pod of an Indexed Job) and the completions count from <c>--shard-count</c> or <see cref="CountVariable"/>, so the
/// Job runs <c>distill generate</c> as is, without a wrapper script.
/// </summary>
public static class ShardSelection
{
    /// <summary>Set by Kubernetes on each pod of an Indexed Job: 0 .. completions-1.</summary>
    public const string IndexVariable = "JOB_COMPLETION_INDEX";

    /// <summary>The Job's completions, which Kubernetes does not expose to the pod: set it in the manifest next to <c>completions</c>.</summary>
    public const string CountVariable = "DISTILL_SHARD_COUNT";

    /// <param name="shard">The <c>--shard</c> value (<c>i/n</c>), or null.</param>
    /// <param name="shardCount">The <c>--shard-count</c> value, or null.</param>
    /// <param name="environment">Reads an environment variable (null when unset).</param>
    /// <returns>(0, 1) when nothing selects a shard: one worker does everything.</returns>
    public static (int Index, int Count) Resolve(string? shard, int? shardCount, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (shardCount is < 1) throw new DistillException($"--shard-count {shardCount} is not a positive integer", "set it to the Job's completions, e.g. 4");
        if (shard is not null)
        {
            if (shardCount is not null)
                throw new DistillException("--shard i/n and --shard-count cannot be combined", "give --shard i/n alone, or --shard-count with JOB_COMPLETION_INDEX set");
            return Parse(shard);
        }
        var indexText = environment(IndexVariable);
        if (string.IsNullOrWhiteSpace(indexText))
        {
            if (shardCount is not null)
                throw new DistillException($"--shard-count is set but {IndexVariable} is not",
                    "run inside a Kubernetes Indexed Job (which sets it), or pass --shard i/n");
            return (0, 1);
        }
        if (!int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            throw new DistillException($"{IndexVariable}='{indexText}' is not a non-negative integer", "let Kubernetes set it (completionMode: Indexed)");
        var count = shardCount ?? ReadCount(environment(CountVariable));
        if (index >= count)
            throw new DistillException($"{IndexVariable}={index} is not below the shard count {count}",
                $"set {CountVariable} (or --shard-count) to the Job's completions");
        return (index, count);
    }

    /// <summary>Parses <c>i/n</c> with 0 &lt;= i &lt; n.</summary>
    public static (int Index, int Count) Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 && i < n)
            return (i, n);
        throw new DistillException($"--shard '{text}' is not i/n with 0 <= i < n", "e.g. --shard 0/4 for the first of four workers");
    }

    private static int ReadCount(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new DistillException($"{IndexVariable} is set but the shard count is not",
                $"set {CountVariable} to the Job's completions in the manifest, or pass --shard-count");
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
            throw new DistillException($"{CountVariable}='{text}' is not a positive integer", "set it to the Job's completions, e.g. 4");
        return count;
    }
}
