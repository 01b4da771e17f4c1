using Distill.Models.Native;

namespace Distill.Server.Tests;

/// <summary>Base for tests that touch TorchSharp: the native library must be patched before the first torch call.</summary>
public abstract class TorchTest
{
    protected TorchTest() => TorchNative.EnsureLoaded();
}
