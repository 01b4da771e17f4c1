using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Generation.Domains;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Teachers;
using Distill.World.Store;
using Distill.World.Tasks;

namespace Distill.World.Tests;

public sealed class WorldDomainTests
{
    private readonly WorldDomain _domain = new(TestWorld.TheWorld);

    [Fact]
    public void Tasks_are_seed_tasks_with_tier_kind_and_phrasing_tags_and_forbidden_facts()
    {
        var seeds = _domain.Tasks(WorldSplits.HeldOut, 15);
        var worldTasks = TestWorld.Generate(WorldSplits.HeldOut, 15);

        Assert.Equal(worldTasks.Select(t => (t.Id, t.Question)), seeds.Select(s => (s.Id, s.Input)));
        foreach (var (seed, task) in seeds.Zip(worldTasks))
        {
            Assert.True(seed.HasGroundTruth);
            Assert.Equal(task.Tier, seed.Tags!["tier"]);
            Assert.Equal(task.Kind, seed.Tags["kind"]);
            Assert.Equal(task.Phrasing, seed.Tags["phrasing"]);
            Assert.Equal(task.ExpectedAnswerFacts, seed.ExpectedFacts);
            Assert.Equal(task.ForbiddenFacts, seed.ForbiddenFacts);
            Assert.Equal(task.ExpectedCalls.Select(c => c.Name), seed.ExpectedCalls!.Select(c => c.Name));
        }
        Assert.Contains(seeds, s => s.ForbiddenFacts is { Count: > 0 });
        Assert.Equal(["seen", "unseen"], seeds.Select(s => s.Tags!["phrasing"]).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_filter_after_the_split_selects_tiers()
    {
        var seeds = _domain.Tasks(WorldSplits.Train, 6, "T1, T3");

        Assert.Equal(["T1", "T3", "T1", "T3", "T1", "T3"], seeds.Select(s => s.Tags!["tier"]));
    }

    [Fact]
    public async Task Task_sources_reach_the_domain_and_reject_an_unknown_split()
    {
        IReadOnlyList<ITaskDomain> domains = [_domain];

        var tasks = await TaskSources.LoadAsync("world:heldout:T2", 4, domains);
        var e = await Assert.ThrowsAsync<DistillException>(() => TaskSources.LoadAsync("world:test", 4, domains));

        Assert.All(tasks, t => Assert.Equal("T2", t.Tags!["tier"]));
        Assert.Equal(4, tasks.Count);
        Assert.Contains("unknown world split 'test'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Variables_tools_and_teacher_name_are_the_worlds()
    {
        Assert.Equal("2026-11-01", _domain.TemplateVariables["today"]);
        Assert.Equal(RefundPolicy.Text, _domain.TemplateVariables["policy"]);
        Assert.Equal(["calculator", "check_refund_eligibility", "lookup_order", "search_kb", "track_shipment"], _domain.Tools.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Equal(ScriptedWorldTeacher.TeacherName, _domain.ScriptedTeacherName);
        Assert.Equal(WorldSplits.All, _domain.Splits);
    }

    [Fact]
    public async Task The_scripted_teacher_answers_tasks_the_domain_issued()
    {
        var seeds = _domain.Tasks(WorldSplits.Dev, 3);
        var teacher = _domain.CreateScriptedTeacher(seeds);

        var response = await teacher.CompleteAsync(new TeacherRequest { Messages = [ChatMessage.User(seeds[1].Input)] });

        Assert.Equal(seeds[1].ExpectedCalls![0].Name, Assert.Single(response.ToolCalls).Name);
    }

    [Fact]
    public void The_scripted_teacher_refuses_tasks_the_domain_did_not_issue()
    {
        var issued = _domain.Tasks(WorldSplits.Train, 1)[0];
        var fresh = new WorldDomain(TestWorld.TheWorld);

        Assert.Throws<DistillException>(() => _domain.CreateScriptedTeacher([new SeedTask("task-000000", "hello")]));
        Assert.Throws<DistillException>(() => _domain.CreateScriptedTeacher([issued with { Input = issued.Input + " Thanks!" }]));
        var e = Assert.Throws<DistillException>(() => fresh.CreateScriptedTeacher([issued]));
        Assert.Contains("world-scripted only answers the embedded world's tasks", e.Message, StringComparison.Ordinal);
    }
}
