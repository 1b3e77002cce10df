// Placeholder until `quire keygen` lands (issue 3).
export async function keygenCommand(_argv: string[]): Promise<number> {
  process.stderr.write("quire keygen: not implemented yet\n");
  return 2;
}
