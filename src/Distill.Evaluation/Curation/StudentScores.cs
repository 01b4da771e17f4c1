using System.Text.Json;
using Distill.Core.Errors;
using Distill.Data.Lineage;

namespace Distill.Evaluation.Curation;

/// <summary>
/// Links template versions to students: every <c>evaluation.json</c> under the given folders whose models carry run lineage
/// (<see cref="ModelEvaluation.Lineage"/>) credits each template version in that lineage (and its base run's) with the
/// model's held-out score.
/// </summary>
public static class StudentScores
{
    public const string EvaluationFile = "evaluation.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record Entry(string Model, string? Source, int Tasks, int Succeeded, RunLineage? Lineage);

    /// <summary>Scores per <c>id@version</c> from the evaluation files found under <paramref name="roots"/> (missing roots are skipped).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<StudentScore>> Find(IEnumerable<string> roots)
    {
        var scores = new Dictionary<string, List<StudentScore>>(StringComparer.Ordinal);
        var files = roots.Where(Directory.Exists)
            .SelectMany(r => Directory.EnumerateFiles(r, EvaluationFile, SearchOption.AllDirectories))
            .Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var (key, score) in FromFile(file))
            {
                if (!scores.TryGetValue(key, out var list)) scores[key] = list = [];
                list.Add(score);
            }
        }
        return scores.ToDictionary(s => s.Key, s => (IReadOnlyList<StudentScore>)s.Value, StringComparer.Ordinal);
    }

    /// <summary>(template version, student score) for every model of one evaluation.json that carries lineage.</summary>
    public static IEnumerable<(string Key, StudentScore Score)> FromFile(string file)
    {
        List<Entry>? entries;
        try
        {
            entries = JsonSerializer.Deserialize<List<Entry>>(File.ReadAllText(file), Json);
        }
        catch (JsonException e)
        {
            throw new DistillException($"'{file}' is not a readable evaluation file: {e.Message}",
                "run `distill evaluate` again to rewrite it, or leave its folder out of --runs", e);
        }
        foreach (var entry in entries ?? [])
        {
            if (entry.Lineage is null) continue;
            foreach (var template in entry.Lineage.AllTemplates)
                yield return (template.Key, new StudentScore(entry.Model, file, entry.Tasks, entry.Succeeded));
        }
    }
}
