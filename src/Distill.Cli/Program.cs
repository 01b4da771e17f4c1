using Distill.Cli;

return await DistillApp.RunAsync(args);
