/** Whether trading is halted. Provided by the drawdown guard; read by every signal path. */
export interface HaltStatus {
  isHalted(): boolean;
}

export const HALT_STATUS = Symbol('HALT_STATUS');
