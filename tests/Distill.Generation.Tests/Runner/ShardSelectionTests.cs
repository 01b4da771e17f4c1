using Distill.Core.Errors;
using Distill.Generation.Runner;

namespace Distill.Generation.Tests.Runner;

public sealed class ShardSelectionTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Without_shard_flags_or_job_index_one_worker_takes_everything()
    {
        Assert.Equal((0, 1), ShardSelection.Resolve(null, null, Env()));
    }

    [Fact]
    public void Indexed_job_environment_selects_the_shard()
    {
        var env = Env((ShardSelection.IndexVariable, "2"), (ShardSelection.CountVariable, "4"));

        Assert.Equal((2, 4), ShardSelection.Resolve(null, null, env));
        Assert.Equal((2, 8), ShardSelection.Resolve(null, 8, env));
    }

    [Fact]
    public void Explicit_shard_wins_over_the_job_environment()
    {
        var env = Env((ShardSelection.IndexVariable, "2"), (ShardSelection.CountVariable, "4"));

        Assert.Equal((1, 3), ShardSelection.Resolve("1/3", null, env));
    }

    [Theory]
    [InlineData("3", null, null)] // index without a count
    [InlineData("4", "4", null)] // index not below the count
    [InlineData("x", "4", null)]
    [InlineData("1", "zero", null)]
    [InlineData(null, null, 4)] // --shard-count outside a Job
    public void Incomplete_or_inconsistent_job_environment_is_a_user_error(string? index, string? count, int? shardCount)
    {
        var env = Env([.. new[] { (ShardSelection.IndexVariable, index), (ShardSelection.CountVariable, count) }.Where(v => v.Item2 is not null).Select(v => (v.Item1, v.Item2!))]);

        Assert.Throws<DistillException>(() => ShardSelection.Resolve(null, shardCount, env));
    }

    [Theory]
    [InlineData("0/4", 0, 4)]
    [InlineData("3/4", 3, 4)]
    public void Shard_text_parses(string text, int index, int count) => Assert.Equal((index, count), ShardSelection.Parse(text));

    [Theory]
    [InlineData("4/4")]
    [InlineData("1")]
    [InlineData("-1/4")]
    [InlineData("0/0")]
    public void Bad_shard_text_is_a_user_error(string text) => Assert.Throws<DistillException>(() => ShardSelection.Parse(text));
}
