using Distill.Core.Samples;

namespace Distill.Models.Tests.Chat;

/// <summary>ChatMessage's record equality compares the ToolCalls list by reference; turns are compared by value here.</summary>
internal static class AssistantTurnAssert
{
    public static void Equal(ChatMessage expected, ChatMessage actual)
    {
        Assert.Equal(expected.Role, actual.Role);
        Assert.Equal(expected.Content, actual.Content);
        Assert.Equal(expected.Reasoning, actual.Reasoning);
        Assert.Equal(expected.ToolCalls, actual.ToolCalls);
    }
}
