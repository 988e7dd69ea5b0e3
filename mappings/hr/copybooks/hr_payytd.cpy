      *----------------------------------------------------------------*
      * PAYYTD  YEAR-END PAY EXTRACT, ONE RECORD PER EMPLOYEE AND YEAR  *
      * RECFM=VB LRECL=106 (RDW KEPT), CODE PAGE 037                    *
      *----------------------------------------------------------------*
000100 01  PAYYTD-REC.
000200     05  EMP-ID                PIC X(8).
000300     05  FISCAL-YR             PIC 9(4).
000400     05  EMP-NAME              PIC X(30).
000500     05  JOB-TITLE             PIC X(30).
000600     05  DEPT-CD               PIC X(6).
000700     05  HIRE-DT               PIC 9(8).
000800     05  FILLER                PIC X(2).
000900     05  PAY-AMOUNTS.
001000         10  ANNUAL-SAL        PIC S9(7)V99 COMP-3.
001100         10  YTD-GROSS         PIC S9(7)V99.
001200             88  NO-PAY-THIS-YEAR  VALUE ZERO.
