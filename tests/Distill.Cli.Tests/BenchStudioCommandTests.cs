namespace Distill.Cli.Tests;

/// <summary>`distill bench studio` starts the real `distill studio` process over a dataset it writes and times its pages.</summary>
public sealed class BenchStudioCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-bench-studio-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Times_every_page_against_a_studio_process_and_reports_its_memory()
    {
        var result = await CliRun.RunAsync("bench", "studio", "--rows", "300", "--dir", _dir);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("300 rows (6 rejects)", result.Output);
        // The matched counts come from the studio's answers: 294 accepted, 6 rejects (every 50th row), one order id searched.
        Assert.Matches(@"first page, cold \(what the studio has read so far\)\s*│\s*[\d.]+\s*│\s*\d+ │", result.Output);
        Assert.Matches(@"whole list read \(the first page asked again until complete\)\s*│\s*[\d.]+\s*│\s*300 │", result.Output);
        Assert.Matches(@"filtered: rejects\s*│\s*[\d.]+\s*│\s*6 │", result.Output);
        Assert.Matches(@"last page of the accepted samples\s*│\s*[\d.]+\s*│\s*294 │", result.Output);
        Assert.Matches(@"full-text search \(one order id\)\s*│\s*[\d.]+\s*│\s*[1-9]\d* │", result.Output);
        Assert.Matches(@"studio process memory: [1-9][\d,]* MB resident", result.Output);

        // A second run reuses the dataset instead of writing it again.
        var again = await CliRun.RunAsync("bench", "studio", "--rows", "300", "--dir", _dir);
        Assert.True(again.ExitCode == 0, again.Output + again.Error);
        Assert.Contains("300 rows (6 rejects), 0.00 GB of shards, reused", again.Output);
    }
}
