using Distill.Core.Errors;
using Distill.Generation.Domains;
using Distill.Generation.Runner;
using Distill.World;

namespace Distill.Generation.Tests.Runner;

public sealed class TaskSourceTests : IDisposable
{
    private static readonly IReadOnlyList<ITaskDomain> Domains = [new WorldDomain()];

    private readonly string _dir = Directory.CreateTempSubdirectory("distill-tasks-").FullName;

    private string File(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task World_split_gives_tasks_with_ground_truth()
    {
        var tasks = await TaskSources.LoadAsync("world:train", 5, Domains);

        Assert.Equal(5, tasks.Count);
        Assert.All(tasks, t => Assert.NotEmpty(t.ExpectedCalls!));
        Assert.All(tasks, t => Assert.True(t.HasGroundTruth));
    }

    [Fact]
    public async Task Jsonl_rows_take_input_or_question_and_expectations()
    {
        var path = File("t.jsonl", """
            {"id": "x1", "input": "Where is A10042?", "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A10042"}}]}

            {"question": "2+2?", "expected_answer": "4"}
            """);

        var tasks = await TaskSources.LoadAsync(path, null, Domains);

        Assert.Equal(2, tasks.Count);
        Assert.Equal("x1", tasks[0].Id);
        Assert.Equal("A10042", tasks[0].ExpectedCalls![0].Arguments["order_id"]);
        Assert.Equal("4", tasks[1].ExpectedAnswer);
    }

    [Fact]
    public async Task Parquet_rows_are_read_like_jsonl_rows()
    {
        var path = Path.Combine(_dir, "t.parquet");
        var rows = new[] { new ParquetTask { id = "p1", input = "Where is A10042?", expected_answer = "shipped" }, new ParquetTask { question = "2+2?" } };
        await Parquet.Serialization.ParquetSerializer.SerializeAsync(rows, path);

        var tasks = await TaskSources.LoadAsync(path, null, Domains);

        Assert.Equal(2, tasks.Count);
        Assert.Equal("p1", tasks[0].Id);
        Assert.Equal("shipped", tasks[0].ExpectedAnswer);
        Assert.Equal("2+2?", tasks[1].Input);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Style", "IDE1006", Justification = "Parquet column names")]
    private sealed class ParquetTask
    {
        public string? id { get; set; }
        public string? input { get; set; }
        public string? question { get; set; }
        public string? expected_answer { get; set; }
    }

    [Theory]
    [InlineData("missing.jsonl", null, "does not exist")]
    [InlineData("bad.jsonl", "{\"input\": \"a\"}\n{oops", "bad.jsonl:2: not valid JSON")]
    [InlineData("noinput.jsonl", "{\"id\": \"a\"}", "noinput.jsonl:1: the row has no \"input\"")]
    [InlineData("t.csv", "a,b", "neither .jsonl nor .parquet")]
    [InlineData("w", null, "unknown world split")]
    [InlineData("tags.jsonl", "{\"input\": \"a\", \"tags\": [\"hard\"]}", "tags.jsonl:1: \"tags\" must be an object")]
    [InlineData("facts.jsonl", "{\"input\": \"a\", \"expected_facts\": \"available\"}", "facts.jsonl:1: \"expected_facts\" must be a list of non-empty strings")]
    [InlineData("facts2.jsonl", "{\"input\": \"a\", \"expected_facts\": [\"available\", 3]}", "facts2.jsonl:1: \"expected_facts\" must be a list")]
    public async Task Bad_task_sources_are_one_clear_error(string name, string? text, string expected)
    {
        var spec = name == "w" ? "world:nope" : text is null ? Path.Combine(_dir, name) : File(name, text);

        var e = await Assert.ThrowsAsync<DistillException>(() => TaskSources.LoadAsync(spec, null, Domains));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task Jsonl_tags_are_read_as_the_tasks_tags_for_routing()
    {
        var path = File("tagged.jsonl", "{\"input\": \"a\", \"tags\": {\"difficulty\": \"hard\", \"level\": 3}}\n{\"input\": \"b\"}\n");

        var tasks = await TaskSources.LoadAsync(path, null, Domains);

        Assert.Equal("hard", tasks[0].Tags!["difficulty"]);
        Assert.Equal("3", tasks[0].Tags!["level"]);
        Assert.Null(tasks[1].Tags);
    }

    [Fact]
    public async Task Jsonl_expected_facts_are_the_facts_a_tool_trace_answer_is_verified_against()
    {
        var path = File("facts.jsonl", "{\"input\": \"Is Dune in?\", \"expected_facts\": [\"not available\", \"2026-12-10\"]}\n{\"input\": \"b\"}\n");

        var tasks = await TaskSources.LoadAsync(path, null, Domains);

        Assert.Equal(["not available", "2026-12-10"], tasks[0].ExpectedFacts!);
        Assert.True(tasks[0].HasGroundTruth);
        Assert.Null(tasks[1].ExpectedFacts);
        Assert.True(Distill.Generation.Recipes.TraceVerifier.Check([], "Dune is not available; the first copy is due back on 2026-12-10.", null, tasks[0].ExpectedFacts).Passed);
        Assert.False(Distill.Generation.Recipes.TraceVerifier.Check([], "Dune is available until 2026-12-10.", null, tasks[0].ExpectedFacts).Passed);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
