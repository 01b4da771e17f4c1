namespace Distill.Data; internal static class Placeholder { }
