using Distill.Core.Errors;
using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Losses;

public class HiddenStateKdTests : TorchTest
{
    [Fact]
    public void Hidden_state_mse_equals_the_hand_computed_value_over_kept_positions()
    {
        // 3 positions x 2 dims, position 1 masked.
        // pos 0: diff [1, -1] -> mean square 1;  pos 2: diff [2, 0] -> mean square 2;  mean over kept = (1 + 2) / 2 = 1.5
        var s = F([1, 1, 9, 9, 3, 0], [1, 3, 2]);
        var t = F([0, 2, 0, 0, 1, 0], [1, 3, 2]);
        var mask = L([1, 0, 1], 1, 3);
        Assert.Equal(1.5, Item(KdLoss.HiddenStateMse(s, t, mask)), 6);
        Assert.Equal(0.0, Item(KdLoss.HiddenStateMse(s, t, zeros(1, 3))), 6);
    }

    [Fact]
    public void Projector_has_one_linear_per_mapped_layer_pair_with_the_right_shapes()
    {
        using var projector = new HiddenStateProjector(4, 6, "0:1, 1:3");
        Assert.Equal([(0, 1), (1, 3)], projector.Pairs);
        var parameters = projector.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(["projections.0.weight", "projections.0.bias", "projections.1.weight", "projections.1.bias"], parameters.Keys);
        Assert.Equal([6L, 4L], parameters["projections.0.weight"]);
        Assert.Equal([2L, 5L, 6L], projector.Project(1, randn(2, 5, 4)).shape);
    }

    [Fact]
    public void Projector_loss_averages_the_pairs_and_trains_only_the_student_side()
    {
        using var projector = new HiddenStateProjector(4, 6, "0:1,1:3");
        var student = Enumerable.Range(0, 2).Select(_ => randn(2, 5, 4).detach().requires_grad_(true)).ToList();
        var teacher = Enumerable.Range(0, 4).Select(_ => randn(2, 5, 6).detach().requires_grad_(true)).ToList();
        var mask = ones(2, 5);
        var loss = projector.Loss(student, teacher, mask);
        var expected = (Item(KdLoss.HiddenStateMse(projector.Project(0, student[0]), teacher[1], mask))
                        + Item(KdLoss.HiddenStateMse(projector.Project(1, student[1]), teacher[3], mask))) / 2;
        Assert.Equal(expected, Item(loss), 5);
        loss.backward();
        Assert.True(Item(student[0].grad!.abs().sum()) > 0);
        Assert.All(projector.parameters(), p => Assert.True(Item(p.grad!.abs().sum()) > 0));
        Assert.All(teacher, t => Assert.True(t.grad is null || Item(t.grad.abs().sum()) == 0));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0-1")]
    [InlineData("0:1,x:2")]
    [InlineData("-1:2")]
    public void Bad_layer_maps_are_rejected_with_a_hint(string map)
    {
        var e = Assert.Throws<DistillException>(() => HiddenStateProjector.ParseLayerMap(map));
        Assert.NotNull(e.Hint);
    }

    [Fact]
    public void Out_of_range_layer_indices_are_reported()
    {
        using var projector = new HiddenStateProjector(4, 6, "0:5");
        Assert.Throws<DistillException>(() => projector.Loss([randn(1, 2, 4)], [randn(1, 2, 6)], ones(1, 2)));
    }
}
