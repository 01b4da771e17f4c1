using Distill.Core.Errors;

namespace Distill.Generation.Templates;

/// <summary>Parses command-line <c>--vars name=value</c> pairs; the renderer converts the text to each declared type.</summary>
public static class TemplateVariableArgs
{
    public static IReadOnlyDictionary<string, object?> Parse(IEnumerable<string> pairs)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new DistillException($"--vars '{pair}' is not name=value", "write e.g. --vars instruction=\"Track order 1042\"");
            }

            var name = pair[..eq].Trim();
            if (!values.TryAdd(name, pair[(eq + 1)..]))
            {
                throw new DistillException($"--vars gives '{name}' twice", "pass each variable once");
            }
        }

        return values;
    }
}
