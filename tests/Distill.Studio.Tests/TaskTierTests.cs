using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Data;
using Distill.Data.Synthetic;
using Distill.Generation.Recipes;

namespace Distill.Studio.Tests;

public class TaskTierTests
{
    private static SeedTask Task(string input, string? tier) =>
        new($"t-{input}", input, Tags: tier is null ? null : new Dictionary<string, string> { ["tier"] = tier, ["phrasing"] = "seen" });

    [Fact]
    public void Each_input_gets_its_tasks_tier_and_an_input_that_tasks_of_two_tiers_share_gets_none()
    {
        var tiers = TaskTiers.ByInput([Task("x", "T0"), Task("y", "T1"), Task("y", "T1"), Task("z", "T0"), Task("z", "T2"), Task("w", null)]);

        Assert.Equal(new Dictionary<string, string> { ["x"] = "T0", ["y"] = "T1" }, tiers);
    }

    [Fact]
    public async Task Rows_are_filtered_by_the_tier_of_the_task_their_seed_input_came_from_while_the_task_source_can_be_read_again()
    {
        var root = Directory.CreateTempSubdirectory("distill-studio-tiers-").FullName;
        try
        {
            var samples = SyntheticSamples.ToolTraces(4, seed: 11, logprobsTopK: 0).Select((s, i) => s with { Id = $"s{i}" }).ToList();
            // The task file the run loaded: s0 from a T0 task, s1 and s2 from T1 tasks; s3's input is not in it (an older run's).
            var taskFile = Path.Combine(root, "tasks.jsonl");
            await File.WriteAllLinesAsync(taskFile, new[] { "T0", "T1", "T1" }.Select((tier, i) =>
                JsonSerializer.Serialize(new { input = samples[i].SeedInput, tags = new { tier } })));
            var movedFile = Path.Combine(root, "moved-away.jsonl");
            foreach (var (name, source) in new[] { ("current", taskFile), ("moved", movedFile) })
            {
                var config = new JsonObject { ["tasks"] = source, ["count"] = 3 };
                await using var writer = await DatasetWriter.OpenAsync(Path.Combine(root, name), new DatasetWriterOptions { Config = config });
                foreach (var s in samples) await writer.AppendAsync(s);
            }
            var (app, client) = await StudioFixture.StartAsync(new StudioOptions { DataRoots = [root], Port = 0 });
            await using var server = app;
            using var http = client;

            var t1 = await JsonAsync(http, "/api/samples?dataset=current&tier=T1");
            var none = await JsonAsync(http, "/api/samples?dataset=current&tier=(none)");
            var moved = await JsonAsync(http, "/api/samples?dataset=moved");

            Assert.Equal(["s1", "s2"], Ids(t1));
            Assert.All(t1.GetProperty("items").EnumerateArray(), i => Assert.Equal("T1", i.GetProperty("sample").GetProperty("tier").GetString()));
            Assert.Equal(["s3"], Ids(none));
            Assert.Equal(new Dictionary<string, int> { ["T1"] = 2, ["(none)"] = 1, ["T0"] = 1 }, Facet(t1, "tier"));
            // Without its task source the dataset still lists, its rows without a tier.
            Assert.Equal(4, moved.GetProperty("total").GetInt32());
            Assert.Equal(new Dictionary<string, int> { ["(none)"] = 4 }, Facet(moved, "tier"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<JsonElement> JsonAsync(HttpClient client, string path) =>
        JsonDocument.Parse(await client.GetStringAsync(path)).RootElement;

    private static string[] Ids(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("sample").GetProperty("id").GetString()!).ToArray();

    private static Dictionary<string, int> Facet(JsonElement page, string name) =>
        page.GetProperty("facets").GetProperty(name).EnumerateArray().ToDictionary(v => v.GetProperty("value").GetString()!, v => v.GetProperty("count").GetInt32());
}
