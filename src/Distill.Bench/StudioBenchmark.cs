using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Data.Synthetic;

namespace Distill.Bench;

/// <summary>
/// `distill bench studio --rows N`: the curation studio as a user runs it (`distill studio` in its own process, its HTTP API on
/// loopback) over a dataset of N synthetic tool-trace rows with top-20 logprobs (2 % of them written as rejects): how long the
/// first page takes cold (the studio starts reading the dataset and answers with what it has read) and until the whole list is
/// read, then warm, filtered pages, a page at the end, a full-text search, and the studio process's memory.
/// </summary>
public static partial class StudioBenchmark
{
    /// <param name="Seconds">Wall time of the request, as the browser sees it.</param>
    /// <param name="Total">Samples that matched (the page's <c>total</c>).</param>
    public sealed record Request(string Name, string Query, double Seconds, int Total);

    /// <param name="WriteSeconds">Generating and writing the dataset (0 when an earlier run's dataset was reused).</param>
    /// <param name="ResidentBytes">The studio process's resident memory after the requests (VmRSS).</param>
    /// <param name="PeakResidentBytes">Its peak resident memory (VmHWM).</param>
    public sealed record Result(int Rows, int Rejects, long DatasetBytes, double WriteSeconds, IReadOnlyList<Request> Requests,
        long ResidentBytes, long PeakResidentBytes);

    /// <summary>Every 50th row is written as a reject, so the rejects filter has something to find.</summary>
    public const int RejectEvery = 50;

    /// <param name="studio">The command line of `distill studio --port 0` for a data folder (the CLI supplies its own path).</param>
    public static async Task<Result> RunAsync(string folder, int rows, Func<string, ProcessStartInfo> studio, Action<string>? progress = null,
        CancellationToken ct = default)
    {
        var dataset = Path.Combine(folder, "dataset");
        var writeSeconds = await EnsureDatasetAsync(dataset, rows, progress, ct).ConfigureAwait(false);
        var manifest = DatasetManifest.Load(dataset);
        var bytes = Directory.EnumerateFiles(dataset, "*.parquet", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

        // The studio picks its own free port (--port 0) and prints "Studio at http://...": the address is read from that line.
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = Process.Start(studio(dataset)) ?? throw new InvalidOperationException("could not start `distill studio`");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && StudioAddress().Match(line) is { Success: true } m) address.TrySetResult(new Uri(m.Groups[1].Value));
        };
        process.ErrorDataReceived += (_, _) => { };
        process.Exited += (_, _) => address.TrySetException(new InvalidOperationException($"`distill studio` exited with {process.ExitCode} before it was listening"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = await address.Task.WaitAsync(TimeSpan.FromMinutes(2), ct).ConfigureAwait(false), Timeout = TimeSpan.FromMinutes(30) };
            using var datasets = JsonDocument.Parse(await http.GetStringAsync("api/datasets", ct).ConfigureAwait(false));
            var key = datasets.RootElement[0].GetProperty("key").GetString()!;
            progress?.Invoke("studio started; timing requests");
            var lastPage = (rows - rows / RejectEvery - 1) / 50;
            var requests = new List<Request>();
            // Cold: the studio starts reading the dataset and answers with what it has after half a second (the page says how far
            // it has come and asks again); the page is asked again until the answer covers the whole list.
            var cold = Stopwatch.StartNew();
            var first = await GetAsync(http, key, "", ct).ConfigureAwait(false);
            requests.Add(new Request("first page, cold (what the studio has read so far)", "", cold.Elapsed.TotalSeconds, first.Total));
            progress?.Invoke($"first page, cold: {cold.Elapsed.TotalSeconds:F2} s");
            var whole = first;
            while (whole.Reading)
            {
                await Task.Delay(250, ct).ConfigureAwait(false);
                whole = await GetAsync(http, key, "", ct).ConfigureAwait(false);
                progress?.Invoke($"reading the dataset: {whole.Total:N0} rows after {cold.Elapsed.TotalSeconds:F0} s");
            }
            requests.Add(new Request("whole list read (the first page asked again until complete)", "", cold.Elapsed.TotalSeconds, whole.Total));
            foreach (var (name, query) in new[]
            {
                ("first page, warm", ""),
                ("filtered: unverified samples", "&verified=false"),
                ("filtered: rejects", "&source=rejected"),
                ("filtered: unverified, page 10", "&verified=false&page=10"),
                ("last page of the accepted samples", $"&source=accepted&page={lastPage}"),
                ("full-text search (one order id)", "&q=" + SearchTerm()),
                ("first page, warm, again", ""),
            })
            {
                var watch = Stopwatch.StartNew();
                var page = await GetAsync(http, key, query, ct).ConfigureAwait(false);
                requests.Add(new Request(name, query, watch.Elapsed.TotalSeconds, page.Total));
                progress?.Invoke($"{name}: {watch.Elapsed.TotalSeconds:F2} s");
            }
            var (resident, peak) = Memory(process.Id);
            return new Result(rows, manifest.Counts.Rejected > int.MaxValue ? int.MaxValue : (int)manifest.Counts.Rejected, bytes, writeSeconds, requests, resident, peak);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>One `GET /api/samples`: the matched total, and whether the studio is still reading the dataset.</summary>
    private static async Task<(int Total, bool Reading)> GetAsync(HttpClient http, string key, string query, CancellationToken ct)
    {
        using var response = await http.GetAsync($"api/samples?dataset={Uri.EscapeDataString(key)}{query}", ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {query}: {(int)response.StatusCode} {body}");
        using var page = JsonDocument.Parse(body);
        return (page.RootElement.GetProperty("total").GetInt32(), page.RootElement.TryGetProperty("reading", out _));
    }

    /// <summary>The first synthetic row's order id, lower-cased as the search box sends it.</summary>
    private static string SearchTerm()
    {
        var sample = SyntheticSamples.ToolTraces(1, seed: 1, logprobsTopK: 0).Single();
        var user = sample.Messages.First(m => m.Role == ChatRoles.User).Content!;
        var at = user.IndexOf(" A", StringComparison.Ordinal) + 1;
        return user.Substring(at, 6).ToLowerInvariant();
    }

    /// <summary>Writes the dataset unless an earlier run left one of the same size; returns the seconds spent.</summary>
    internal static async Task<double> EnsureDatasetAsync(string dataset, int rows, Action<string>? progress, CancellationToken ct)
    {
        if (File.Exists(Path.Combine(dataset, DatasetSchema.ManifestFile)))
        {
            var counts = DatasetManifest.Load(dataset).Counts;
            if (counts.Accepted + counts.Rejected == rows)
            {
                progress?.Invoke($"reusing the {rows:N0}-row dataset in {dataset}");
                return 0;
            }
            Directory.Delete(dataset, recursive: true);
        }
        var watch = Stopwatch.StartNew();
        await using (var writer = await DatasetWriter.OpenAsync(dataset, new DatasetWriterOptions { ShardRows = 2000 }, ct).ConfigureAwait(false))
        {
            var i = 0;
            foreach (var sample in SyntheticSamples.ToolTraces(rows, seed: 1))
            {
                if (i % RejectEvery == RejectEvery - 1) await writer.RejectAsync(new RejectedSample(sample, "near_duplicate"), ct).ConfigureAwait(false);
                else await writer.AppendAsync(sample, ct).ConfigureAwait(false);
                if (++i % 20_000 == 0) progress?.Invoke($"written {i:N0} of {rows:N0} rows");
            }
        }
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>VmRSS and VmHWM of a process, from /proc (Linux); the working set elsewhere.</summary>
    private static (long Resident, long Peak) Memory(int pid)
    {
        var status = $"/proc/{pid}/status";
        if (!File.Exists(status))
        {
            using var p = Process.GetProcessById(pid);
            return (p.WorkingSet64, p.PeakWorkingSet64);
        }
        long Field(string name) => File.ReadLines(status).Where(l => l.StartsWith(name + ":", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024).FirstOrDefault();
        return (Field("VmRSS"), Field("VmHWM"));
    }

    [GeneratedRegex(@"Studio at (http://\S+/)")]
    private static partial Regex StudioAddress();
}
