using System.Text.Json;
using Distill.Core.Errors;
using Distill.Data.Curation;
using Distill.Evaluation.Curation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Distill.Studio;

/// <summary>
/// The studio's JSON API:
/// <c>GET /api/datasets</c>; <c>GET /api/samples?dataset=&amp;source=&amp;template=&amp;version=&amp;recipe=&amp;teacher=&amp;kind=&amp;tier=&amp;verified=&amp;reason=&amp;decision=&amp;q=&amp;page=&amp;size=</c>;
/// <c>GET /api/sample?dataset=&amp;id=</c>; <c>POST /api/decision</c> (<see cref="DecisionRequest"/>); <c>GET /api/templates[?dataset=]</c>;
/// <c>GET /api/comparisons</c> (<see cref="TemplateComparisonEntry"/>); <c>GET /api/comparison-chart?key=</c> (the PNG).
/// </summary>
internal static class StudioApi
{
    public static void Map(IEndpointRouteBuilder app, DatasetCatalog catalog, StudioOptions options)
    {
        app.MapGet("/api/datasets", (HttpContext c) => StudioJson.WriteAsync(c, catalog.List()));

        app.MapGet("/api/samples", async (HttpContext c) =>
        {
            var datasets = catalog.List();
            var key = c.Request.Query["dataset"].ToString();
            var dataset = key.Length == 0 ? datasets.FirstOrDefault() : catalog.Resolve(key);
            if (dataset is null)
            {
                await StudioJson.WriteAsync(c, new SamplePage(0, 0, SampleFilter.DefaultPageSize, [], new Dictionary<string, IReadOnlyList<FacetValue>>()));
                return;
            }
            var summaries = await catalog.SummariesAsync(dataset, c.RequestAborted);
            await StudioJson.WriteAsync(c, SampleQuery.Run(summaries, CurationLog.Load(dataset.Path), Filter(c.Request.Query)));
        });

        app.MapGet("/api/sample", async (HttpContext c) =>
        {
            var dataset = catalog.Resolve(c.Request.Query["dataset"]);
            var id = c.Request.Query["id"].ToString();
            var (sample, reason) = await catalog.FindAsync(dataset, id, c.RequestAborted);
            await StudioJson.WriteAsync(c, SampleDocument.From(dataset.Key, sample, reason, CurationLog.Load(dataset.Path).Find(id)));
        });

        app.MapPost("/api/decision", async (HttpContext c) =>
        {
            DecisionRequest request;
            try
            {
                request = await JsonSerializer.DeserializeAsync<DecisionRequest>(c.Request.Body, StudioJson.Options, c.RequestAborted)
                    ?? throw new DistillException("The decision is empty.", "Send a JSON object.");
            }
            catch (JsonException e)
            {
                throw new DistillException($"The decision is not valid JSON: {e.Message}", "Send {\"dataset\",\"id\",\"action\",...}.");
            }
            var dataset = catalog.Resolve(request.Dataset);
            // Decisions name samples that exist: a typo must not sit in the curation file unseen.
            var (sample, _) = await catalog.FindAsync(dataset, request.Id ?? "", c.RequestAborted);
            var decision = new CurationDecision
            {
                SampleId = sample.Id,
                Action = request.Action ?? throw new DistillException("The decision has no action.", "Send \"action\": \"accept\", \"reject\" or \"edit\"."),
                Reason = string.IsNullOrWhiteSpace(request.Reason) ? null : request.Reason.Trim(),
                Messages = request.Action == CurationAction.Edit ? request.Messages?.Select(m => m.ToMessage()).ToArray() : null,
                Answer = request.Action == CurationAction.Edit ? request.Answer : null,
                Rationale = request.Action == CurationAction.Edit ? request.Rationale : null,
            };
            var revision = await CurationLog.AppendAsync(dataset.Path, decision, request.BaseRevision, c.RequestAborted);
            await StudioJson.WriteAsync(c, new CurationDocument(SampleQuery.DecisionName(decision.Action), decision.Reason, decision.At, revision));
        });

        app.MapGet("/api/templates", async (HttpContext c) =>
        {
            var key = c.Request.Query["dataset"].ToString();
            var paths = key.Length == 0 ? catalog.List().Select(d => d.Path).ToArray() : [catalog.Resolve(key).Path];
            var stats = paths.Length == 0 ? [] : await TemplateStatsReader.ReadAsync(paths, options.RunRoots.Where(Directory.Exists), ct: c.RequestAborted);
            await StudioJson.WriteAsync(c, stats.Select(TemplateDocument.From).ToArray());
        });

        app.MapGet("/api/comparisons", (HttpContext c) => StudioJson.WriteAsync(c, TemplateComparisons.Find(options.RunRoots)));

        app.MapGet("/api/comparison-chart", async (HttpContext c) =>
        {
            var chart = await File.ReadAllBytesAsync(TemplateComparisons.Resolve(options.RunRoots, c.Request.Query["key"]).Chart, c.RequestAborted);
            c.Response.ContentType = "image/png";
            c.Response.ContentLength = chart.Length;
            await c.Response.Body.WriteAsync(chart, c.RequestAborted);
        });
    }

    internal static SampleFilter Filter(IQueryCollection q)
    {
        string? Text(string name) => q[name].ToString() is { Length: > 0 } v ? v : null;
        int Number(string name, int fallback) => int.TryParse(q[name], out var n) ? n : fallback;
        return new SampleFilter
        {
            Source = Text("source"),
            Template = Text("template"),
            Version = Text("version"),
            Recipe = Text("recipe"),
            Teacher = Text("teacher"),
            Kind = Text("kind"),
            Tier = Text("tier"),
            Verified = Text("verified"),
            Reason = Text("reason"),
            Decision = Text("decision"),
            Text = Text("q"),
            Page = Number("page", 0),
            PageSize = Number("size", SampleFilter.DefaultPageSize),
        };
    }
}
