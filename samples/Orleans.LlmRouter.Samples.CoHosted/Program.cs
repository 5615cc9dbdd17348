using Orleans.LlmRouter.Samples.CoHosted;

return await CoHostedSample.RunAsync(args, Console.Out);
