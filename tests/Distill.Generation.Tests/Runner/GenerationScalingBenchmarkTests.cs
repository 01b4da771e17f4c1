using System.Text.RegularExpressions;
using Distill.Generation.Runner;

namespace Distill.Generation.Tests.Runner;

/// <summary>`distill bench generate --scaling`: its tasks stay distinct over a long run, and its tenths add up to the run.</summary>
public sealed class GenerationScalingBenchmarkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-scaling-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Tasks_past_the_numbers_period_ask_new_questions()
    {
        // The order number and SKU alone do not make a new question: the filter sees such rows as near-duplicates.
        var numbersOnly = InstantOrderTeacher.Tasks(60_000)
            .Select(t => Regex.Replace(t.Input, @"^Order \d+ |SKU-\d+ ", ""))
            .ToList();
        Assert.Equal(numbersOnly.Count, numbersOnly.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Tenths_cover_every_task_and_every_accepted_sample()
    {
        var template = ScriptedWorld.Library.Get("cot-answer");
        var result = await GenerationScalingBenchmark.RunAsync(template, Path.Combine(_dir, "run"), tasks: 300, concurrency: 8);

        Assert.Equal(10, result.Tenths.Count);
        Assert.Equal(0, result.Tenths[0].FirstTask);
        Assert.Equal(300, result.Tenths[^1].LastTask);
        Assert.All(result.Tenths.Zip(result.Tenths.Skip(1)), p => Assert.Equal(p.First.LastTask, p.Second.FirstTask));
        Assert.Equal(result.Accepted, result.Tenths.Sum(t => t.Accepted));
        Assert.InRange(result.Accepted, 290, 300); // a few templated rows are near-duplicates of earlier ones
        Assert.True(result.LastOverFirst > 0);
    }
}
