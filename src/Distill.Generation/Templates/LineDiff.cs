namespace Distill.Generation.Templates;

public enum DiffKind
{
    Same,
    Removed,
    Added,
}

/// <summary>One line of a diff: kept, only in the old text, or only in the new one.</summary>
public sealed record DiffLine(DiffKind Kind, string Text);

/// <summary>A line diff by longest common subsequence (templates are short, so the quadratic table is small).</summary>
public static class LineDiff
{
    /// <summary>The lines of <paramref name="before"/> and <paramref name="after"/> in order, each marked; removals before additions at a change.</summary>
    public static IReadOnlyList<DiffLine> Compute(IReadOnlyList<string> before, IReadOnlyList<string> after)
    {
        int n = before.Count, m = after.Count;
        // lcs[i, j]: length of the longest common subsequence of before[i..] and after[j..].
        var lcs = new int[n + 1, m + 1];
        for (var i = n - 1; i >= 0; i--)
            for (var j = m - 1; j >= 0; j--)
                lcs[i, j] = before[i] == after[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        var lines = new List<DiffLine>();
        int a = 0, b = 0;
        while (a < n || b < m)
        {
            if (a < n && b < m && before[a] == after[b])
            {
                lines.Add(new DiffLine(DiffKind.Same, before[a++]));
                b++;
            }
            else if (b == m || (a < n && lcs[a + 1, b] >= lcs[a, b + 1])) lines.Add(new DiffLine(DiffKind.Removed, before[a++]));
            else lines.Add(new DiffLine(DiffKind.Added, after[b++]));
        }
        return lines;
    }

    /// <summary>Splits normalized text into lines (a final newline does not make an empty last line).</summary>
    public static IReadOnlyList<string> Lines(string text)
    {
        var lines = text.Split('\n');
        return text.EndsWith('\n') ? lines[..^1] : lines;
    }
}
