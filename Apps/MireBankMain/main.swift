import MireBankCLI

await MireBankCommandLine.run()
